"""The web wing: the chat page, the JSON API, the document viewer, rendering, feedback and workers.

One door: the CLI's `verbatim serve` (app.web.serve). Inside, `build_app` and `launch`
(app.web.chat) make and run the page (what it says: app.web.page; what it does: app.web.events;
following rebuilds: app.web.live), `create_api` (app.web.api) the REST API. Nothing outside this
package and the CLI imports it; it imports Gradio only when the page is built.
"""
