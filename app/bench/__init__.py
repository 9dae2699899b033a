"""The benchmark wing: `verbatim bench` and its sections (build, ask, brief, onnx, engines, load, scale).

One door: the CLI's `verbatim bench` (app.bench.run). Each section lives in its own module; shared
figures and tables in app.bench.common.
"""
