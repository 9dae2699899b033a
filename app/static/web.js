// Verbatim web chat: keep the start of each new exchange in view.
// Gradio's autoscroll (off here) follows a streamed answer to its end, so the first quotes of a
// long answer scrolled out of the chat box. Instead, the first new message (the question, or a
// notice) is brought to the top of the box (and into the window) and kept there while the answer
// fills in below it, until it is there or the user scrolls, clicks or types.
() => {
  let seen = 0;
  let pinned = null;
  const follow = () => {
    const box = document.querySelector("#vb-chat [role=log]");
    const messages = box ? box.querySelectorAll("[data-testid=user], [data-testid=bot]") : [];
    if (messages.length > seen) pinned = messages[seen];
    seen = messages.length;
    if (!pinned || !pinned.isConnected) return;
    box.scrollTop += pinned.getBoundingClientRect().top - box.getBoundingClientRect().top;
    const top = pinned.getBoundingClientRect().top;
    if (top < 0 || top >= window.innerHeight) pinned.scrollIntoView({ block: "start" });  // a phone's page
    if (Math.abs(pinned.getBoundingClientRect().top - box.getBoundingClientRect().top) < 1) pinned = null;
  };
  for (const type of ["wheel", "touchstart", "mousedown", "keydown"]) {
    document.addEventListener(type, () => { pinned = null; }, { capture: true, passive: true });
  }
  new MutationObserver(follow).observe(document.body, { childList: true, subtree: true, characterData: true });
}
