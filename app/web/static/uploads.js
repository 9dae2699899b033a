// Verbatim uploads (`verbatim serve --allow-uploads`): the "Add or remove documents" panel.
// The form posts the file to POST api/v1/documents (with the upload token when the page asks for one),
// shows a progress bar while the server indexes it (GET api/v1/uploads), and once the document is
// answerable says "Added NAME" and redraws the documents panel, the selector and the examples (the hidden
// #vb-redraw button: no reload, so the conversation stays). "Remove" sends DELETE api/v1/documents/{name},
// waits for the build without it the same way and says "Removed NAME". Names are shown as text, never HTML.
() => {
  const api = (path) => new URL("api/v1/" + path, window.location.href);
  const $ = (id) => document.getElementById(id);
  const say = (text) => { const s = $("vb-upload-status"); if (s) s.textContent = text; };
  const busy = (on) => {
    const bar = $("vb-upload-progress");
    if (bar) bar.hidden = !on;
    for (const id of ["vb-upload-add", "vb-remove"]) if ($(id)) $(id).disabled = on;
  };
  const headers = () => {
    const token = $("vb-upload-token");
    return token && token.value ? { "X-Upload-Token": token.value } : {};
  };
  const listed = async () => {
    const r = await fetch(api("documents"), { cache: "no-store" });
    return r.ok ? (await r.json()).documents.map((d) => d.doc) : null;
  };
  const fill = async () => {
    const select = $("vb-remove-doc");
    const names = await listed();
    if (!select || !names) return;
    select.replaceChildren(...names.map((n) => { const o = document.createElement("option"); o.value = n; o.textContent = n; return o; }));
  };
  const until = async (done, label) => {
    for (;;) {
      const status = await fetch(api("uploads"), { headers: headers(), cache: "no-store" });
      const state = status.ok ? (await status.json()).documents : {};
      const failed = Object.entries(state).find(([, s]) => s.startsWith("failed"));
      if (failed) throw new Error(failed[0] + ": " + failed[1]);
      const names = await listed();
      if (names && done(names)) return;
      say(label);
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const refused = async (response) => {
    try { return (await response.json()).error; } catch (e) { return "the server said " + response.status; }
  };

  // One change to the shelf: send it, wait until the build shows it, then redraw and confirm (or say why not).
  const change = async (sending, refusedPrefix, send, settled) => {
    busy(true);
    say(sending);
    try {
      const response = await send();
      if (response.status !== 202) { say(refusedPrefix + await refused(response)); return; }
      const done = await settled(response);
      const redraw = $("vb-redraw");
      if (redraw) redraw.click();
      await fill();
      say(done);
    } catch (e) {
      say(refusedPrefix + e.message);
    } finally {
      busy(false);
    }
  };

  document.addEventListener("submit", async (event) => {
    if (event.target.id !== "vb-upload-form") return;
    event.preventDefault();
    const file = $("vb-upload-file").files[0];
    if (!file) { say("Choose a file first."); return; }
    const form = new FormData();
    form.append("file", file);
    change("Sending " + file.name + "\u2026", "Not added: ",
           () => fetch(api("documents"), { method: "POST", body: form, headers: headers() }),
           async (response) => {
             const name = (await response.json()).doc;
             await until((names) => names.includes(name), "Indexing " + name + "\u2026");
             $("vb-upload-file").value = "";
             return "Added " + name;
           });
  });

  document.addEventListener("click", async (event) => {
    if (!event.target.closest || !event.target.closest("#vb-remove")) return;
    const name = $("vb-remove-doc").value;
    if (!name) return;
    change("Removing " + name + "\u2026", "Not removed: ",
           () => fetch(api("documents/" + encodeURIComponent(name)), { method: "DELETE", headers: headers() }),
           async () => {
             await until((names) => !names.includes(name), "Rebuilding without " + name + "\u2026");
             return "Removed " + name;
           });
  });

  const wait = setInterval(() => { if ($("vb-remove-doc")) { clearInterval(wait); fill(); } }, 200);
}
