"""The browser app's layout and event wiring (Gradio).  Handlers live in ``ui_handlers.py``,
rendering in ``present.py``, the operations in ``app.py``; this module only places components.

Concurrency: Gradio's queue runs retrieval for every session in parallel; the answer step
shares one concurrency group ("model") of size 1, so one generation runs at a time per loaded
model and the others wait with their queue position shown.  Model swaps join the same group.
Left out: authentication beyond Gradio's own ``auth``, multi-user model choice (the loaded
model is the app's, shared by every session).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .present import CHIP_SCRIPT, CSS, sources_html

if TYPE_CHECKING:
    import gradio as gr

    from .app import NotesApp

EXAMPLES = [
    "How much GPU memory does full fine-tuning of Qwen1.5-7B-Chat need?",
    "梯度检查点是怎么节省显存的？",
    "What is the difference between BatchNorm and LayerNorm?",
    "DPO 为什么可以不单独训练奖励模型？",
]


def build_ui(app: NotesApp) -> gr.Blocks:
    """The Blocks app over ``app``; call ``launch_ui`` to serve it."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # never contact Gradio's servers
    import gradio as gr

    from .ui_handlers import Handlers

    h = Handlers(app)
    s = app.settings
    with gr.Blocks(title="notes-chat", analytics_enabled=False) as demo:
        history = gr.State([])  # [[question, answer], ...] of this session, for follow-ups
        pending = gr.State("")
        prepared = gr.State(None)
        error = gr.State("")
        with gr.Row():
            with gr.Column(scale=3):
                badge = gr.HTML(h.badge(), elem_id="badge")
                chat = gr.Chatbot(height=520, elem_id="chat", buttons=["copy", "copy_all"],
                                  placeholder="Ask about your notes, in English or Chinese. Answers cite your notes [n].")
                with gr.Row():
                    box = gr.Textbox(show_label=False, placeholder="Ask about your notes…", scale=6, elem_id="question")
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                gr.Examples(EXAMPLES, inputs=[box], label="Try")
                clear = gr.Button("Clear chat", size="sm", elem_id="clear")
            with gr.Column(scale=2):
                with gr.Tab("Sources"):
                    sources = gr.HTML(sources_html(None, 0, ""), elem_id="sources")
                    with gr.Row():
                        note_pick = gr.Dropdown(choices=[], label="View a whole note", elem_id="note-pick", scale=3)
                        view = gr.Button("View note", elem_id="view-note", scale=1)
                    note_view = gr.HTML(elem_id="note-view")
                with gr.Tab("Model"):
                    model_pick = gr.Dropdown(app.model_choices(), value=app.current_model(), label="Model",
                                             elem_id="model-pick")
                    model_path = gr.Textbox(label="…or the path of a GGUF file", elem_id="model-path")
                    load = gr.Button("Load", elem_id="load-model")
                    model_status = gr.Markdown(elem_id="model-status")
                    with gr.Accordion("Download a model", open=not app.model_choices()[1:]):
                        catalog_pick = gr.Dropdown(app.catalog_choices(), label="Known models (checked by sha256)",
                                                   elem_id="catalog-pick")
                        download = gr.Button("Download", elem_id="download-model")
                    with gr.Accordion("Generation settings", open=False):
                        temperature = gr.Slider(0, 1.5, value=s.temperature, step=0.05, label="Temperature")
                        max_tokens = gr.Slider(16, 2048, value=s.max_tokens, step=8, label="Max tokens")
                        passages = gr.Slider(1, 10, value=s.answer_passages, step=1, label="Passages (top-k)")
                with gr.Tab("Study", elem_id="study-tab") as study_tab:
                    study_status = gr.Markdown(elem_id="study-status")
                    study_card = gr.HTML(elem_id="study-card")
                    study_typed = gr.Textbox(label="Your answer (optional: it is checked against the card's)",
                                             elem_id="study-typed")
                    study_show = gr.Button("Show answer", elem_id="study-show")
                    study_answer = gr.HTML(elem_id="study-answer")
                    with gr.Row():
                        grades = {g: gr.Button(g.capitalize(), size="sm", elem_id=f"study-{g}")
                                  for g in ("again", "hard", "good", "easy")}
                    with gr.Row():
                        grades["keep"] = gr.Button("Keep (answer still holds)", size="sm", elem_id="study-keep")
                        grades["retire"] = gr.Button("Retire card", size="sm", elem_id="study-retire")
                    with gr.Accordion("Make cards from your notes", open=True):
                        with gr.Row():
                            study_n = gr.Number(20, label="How many", precision=0, minimum=1, maximum=200,
                                                elem_id="study-n")
                            study_filter = gr.Textbox(label="Only notes whose file, title or heading has",
                                                      elem_id="study-filter")
                        study_make = gr.Button("Make cards", elem_id="study-make")
                    study_id = gr.State(None)  # the card shown in this session
                with gr.Tab("Notes"):
                    index_status = gr.Markdown(app.index_status(), elem_id="index-status")
                    files = gr.Dataframe(app.files(), headers=["file", "notes", "KiB"], interactive=False,
                                         elem_id="files")
                    upload = gr.File(file_count="multiple", label="Add notes (.md, .txt, .pdf)", elem_id="upload")
                    reindex = gr.Button("Re-index the notes folder", elem_id="reindex")
                    notes_status = gr.Markdown(elem_id="notes-status")

        for trigger in (box.submit, send.click):
            (trigger(h.submit, [box, chat], [box, chat, pending], queue=False, api_visibility="private")
             .then(h.prepare, [pending, history, temperature, max_tokens, passages], [prepared, error],
                   concurrency_limit=None, api_visibility="private")
             .then(h.respond, [prepared, error, chat, history], [chat, history, sources, note_pick, badge],
                   concurrency_id="model", concurrency_limit=1, api_visibility="private"))
        clear.click(h.clear, None, [chat, history, sources, note_pick, note_view], queue=False, api_visibility="private")
        view.click(h.view_note, [note_pick], [note_view], api_visibility="private")
        load.click(h.load_model, [model_pick, model_path], [model_status, badge, model_pick],
                   concurrency_id="model", concurrency_limit=1, api_visibility="private")
        def pull(name: str | None, progress=gr.Progress(track_tqdm=True)):  # noqa: B008 - Gradio's way
            yield from h.pull_model(name)

        download.click(pull, [catalog_pick], [model_status, model_pick, catalog_pick],
                       concurrency_id="download", concurrency_limit=1, api_visibility="private")
        upload.upload(h.upload, [upload], [notes_status, files, upload], concurrency_id="index", concurrency_limit=1,
                      api_visibility="private")
        reindex.click(h.reindex, None, [notes_status, files], concurrency_id="index", concurrency_limit=1,
                      api_visibility="private")
        study_outputs = [study_status, study_card, study_answer, study_id, study_typed]
        study_tab.select(h.study_open, None, study_outputs, api_visibility="private")
        study_make.click(h.study_make, [study_n, study_filter], study_outputs, concurrency_id="model",
                         concurrency_limit=1, api_visibility="private")
        for trigger in (study_show.click, study_typed.submit):  # may ask the loaded model: one at a time
            trigger(h.study_show, [study_id, study_typed], [study_answer], concurrency_id="model",
                    concurrency_limit=1, api_visibility="private")
        for grade, button in grades.items():
            button.click(lambda card_id, g=grade: h.study_grade(card_id, g), [study_id], study_outputs,
                         api_visibility="private")
        # The index status follows ingests from anywhere (this page, a CLI, a folder watch).
        gr.Timer(2.0).tick(app.index_status, None, [index_status], queue=False, api_visibility="private",
                           show_progress="hidden")
        gr.api(app.ask, api_name="ask", concurrency_limit=None)
    return demo


def launch_ui(app: NotesApp, *, host: str, port: int, auth: tuple[str, str] | None, share: bool,
              block: bool = True) -> gr.Blocks:
    """Serve the app (127.0.0.1 by default, never shared unless asked); warm-up runs meanwhile."""
    demo = build_ui(app)
    app.warm_in_background()
    demo.queue(default_concurrency_limit=8)
    demo.launch(server_name=host, server_port=port, auth=auth, share=share, css=CSS, head=CHIP_SCRIPT,
                prevent_thread_lock=not block, quiet=True, footer_links=["api"])
    return demo
