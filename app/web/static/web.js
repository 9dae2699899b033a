// Verbatim web chat: citations that open the document viewer, the start of each exchange kept in
// view, and a page that suits phones.
//
// - Each [n] (a.vb-cite) and each document title (a.vb-open-doc) opens the viewer: a dialog over the
//   chat with the whole document, rendered and escaped by the server (GET vb/document, app/web/viewer.py),
//   scrolled to the quote. "Back to the chat" or Escape closes it and focus returns to the link.
//   The chat's sanitiser drops aria-* attributes, so a citation's accessible name comes from its title.
//   The document scrolls inside the viewer, so its body is in the tab order (tabindex 0, a labelled
//   region): a keyboard user can reach it and scroll it with the arrow keys (axe: scrollable-region-focusable).
// - Gradio's autoscroll (off here) follows a streamed answer to its end; instead the first new message
//   (the question, or a notice) is brought to the top of the window and kept there while the answer
//   fills in below it, until it is there or the user scrolls, clicks or types.
// - Phones: no autofocus (it scrolls the header away), side panels start collapsed.
() => {
  const narrow = window.matchMedia("(max-width: 640px)");
  let seen = 0;
  let pinned = null;
  let opener = null;
  let setUp = false;

  // ---------------------------------------------------------------- the document viewer
  const viewer = document.createElement("div");
  viewer.id = "vb-viewer";
  viewer.hidden = true;
  viewer.setAttribute("role", "dialog");
  viewer.setAttribute("aria-modal", "true");
  viewer.setAttribute("aria-labelledby", "vb-viewer-title");
  viewer.innerHTML = '<div class="vb-viewer-panel"><div class="vb-viewer-bar">'
    + '<button type="button" class="vb-viewer-back">\u2190 Back to the chat</button>'
    + '<span class="vb-viewer-keys">or press Esc</span></div>'
    + '<div class="vb-viewer-body" role="region" aria-label="Document text" tabindex="0"></div></div>';
  const body = viewer.querySelector(".vb-viewer-body");
  const back = viewer.querySelector(".vb-viewer-back");
  const page = () => document.querySelector(".gradio-container");

  const params = (link) => new URLSearchParams((link.getAttribute("href") || "").split("?")[1] || "");

  const close = () => {
    if (viewer.hidden) return;
    viewer.hidden = true;
    document.documentElement.classList.remove("vb-viewer-open");
    if (page()) page().inert = false;
    const target = opener && opener.isConnected ? opener : document.querySelector("#vb-question textarea");
    if (target) target.focus({ preventScroll: false });
  };

  const open = async (link) => {
    const p = params(link);
    const doc = p.get("doc");
    if (!doc) return;
    const query = new URLSearchParams({ doc });
    if (p.get("n")) {
      query.set("focus", p.get("n"));
      const answer = link.closest(".vb-answer, .vb-brief");  // its sibling quotes are marked too
      const numbers = new Set();
      for (const a of answer ? answer.querySelectorAll("a.vb-cite") : [link]) {
        const q = params(a);
        if (q.get("doc") !== doc || numbers.has(q.get("n"))) continue;
        numbers.add(q.get("n"));
        query.append("q", `${q.get("n")}:${q.get("start")}:${q.get("end")}`);
      }
    }
    opener = link;
    if (!viewer.isConnected) (page() ? page().parentElement : document.body).appendChild(viewer);
    body.innerHTML = '<p class="vb-pending" role="status">Opening the document\u2026</p>';
    viewer.hidden = false;
    document.documentElement.classList.add("vb-viewer-open");
    if (page()) page().inert = true;
    back.focus();
    let html;
    try {
      const response = await fetch(new URL("vb/document?" + query, window.location.href), { cache: "no-store" });
      html = await response.text();  // escaped by the server (app/web/viewer.py)
    } catch (error) {
      html = '<div class="vb-notice" role="status">Sorry \u2014 the document could not be loaded.</div>';
    }
    if (viewer.hidden || opener !== link) return;  // closed, or another citation opened meanwhile
    body.innerHTML = html;
    const focus = body.querySelector("#vb-focus");
    if (focus) {
      focus.scrollIntoView({ block: "center" });
      focus.focus({ preventScroll: true });
    } else {
      body.scrollTop = 0;
    }
  };

  back.addEventListener("click", close);
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a.vb-cite, a.vb-open-doc");
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    open(link);
  }, true);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !viewer.hidden) {
      event.preventDefault();
      close();
    }
  }, true);

  // ---------------------------------------------------------------- the page as it fills in
  const decorate = () => {
    for (const a of document.querySelectorAll("a.vb-cite:not([aria-label])")) {
      a.setAttribute("aria-label", a.getAttribute("title") || "Open the source in the document");
    }
    // Gradio lists the example questions as role=list holding buttons, not list items (axe:
    // aria-required-children, critical): a labelled group of buttons says what it is
    for (const list of document.querySelectorAll("#vb-chat .examples[role=list]")) {
      list.setAttribute("role", "group");
      list.setAttribute("aria-label", "Example questions");
    }
    for (const toggle of document.querySelectorAll("button.label-wrap")) {  // accordions: say whether open
      const open = String(toggle.classList.contains("open"));
      if (toggle.getAttribute("aria-expanded") !== open) toggle.setAttribute("aria-expanded", open);
    }
    if (setUp || !document.querySelector("#vb-question textarea")) return;
    setUp = true;
    if (narrow.matches) {  // side panels start collapsed on a phone
      for (const panel of document.querySelectorAll("#vb-docs-panel, #vb-how")) {
        const toggle = panel.querySelector("button.label-wrap, .label-wrap");
        if (toggle && toggle.classList.contains("open")) toggle.click();
      }
    } else {
      document.querySelector("#vb-question textarea").focus({ preventScroll: true });
    }
  };

  const follow = () => {
    const box = document.querySelector("#vb-chat [role=log]");
    const messages = box ? box.querySelectorAll("[data-testid=user], [data-testid=bot]") : [];
    if (messages.length > seen) pinned = messages[seen];
    seen = messages.length;
    if (!pinned || !pinned.isConnected) return;
    if (box.scrollHeight > box.clientHeight + 1) {  // a chat box that scrolls on its own
      box.scrollTop += pinned.getBoundingClientRect().top - box.getBoundingClientRect().top;
    }
    pinned.scrollIntoView({ block: "start" });
    if (Math.abs(pinned.getBoundingClientRect().top) < 1) pinned = null;
  };

  for (const type of ["wheel", "touchstart", "mousedown", "keydown"]) {
    document.addEventListener(type, (event) => {
      if (!viewer.contains(event.target)) pinned = null;
    }, { capture: true, passive: true });
  }
  new MutationObserver(() => { decorate(); follow(); })
    .observe(document.body, { childList: true, subtree: true, characterData: true });
  decorate();
}
