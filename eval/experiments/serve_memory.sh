#!/usr/bin/env bash
# Memory of `verbatim serve --workers 2` after 20 REST asks: RSS and PSS of the parent and each worker.
#   bash eval/experiments/serve_memory.sh [PORT]      (from the project root, the bundled index built)
set -euo pipefail
PORT=${1:-7871}
. .venv/bin/activate
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false GRADIO_ANALYTICS_ENABLED=False
python -m app.cli serve --port "$PORT" --workers 2 > /dev/null 2>&1 &
PARENT=$!
trap 'kill $PARENT 2>/dev/null || true' EXIT
for _ in $(seq 1 90); do
  curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$PORT/api/v1/health" 2>/dev/null | grep -q 200 && break
  sleep 2
done
for q in "How many people were detained?" "Who is Aron Atabek?" "When did the clashes happen?" \
         "What does Amnesty want?" "Which prisoner uses a wheelchair?"; do
  for _ in 1 2 3 4; do
    curl -s -X POST "http://127.0.0.1:$PORT/api/v1/ask" -H 'content-type: application/json' \
         -d "{\"question\": \"$q\"}" -o /dev/null
  done
done
sleep 1
for p in $PARENT $(pgrep -P $PARENT); do
  echo "pid $p $(grep -E '^(Rss|Pss):' /proc/$p/smaps_rollup | awk '{printf "%s %d MB  ", $1, $2/1024}')"
done
