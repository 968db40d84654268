"""The two embedding backends give the same vectors; a model ONNX cannot run falls back to torch."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chatbot.errors import UserError
from chatbot.search.embed import make_embedder
from chatbot.search.embed.onnx_backend import supported

pytestmark = pytest.mark.integration

TEXTS = [
    "Gradient checkpointing trades compute for memory.",
    "梯度检查点用重算换显存",
    "LoRA trains two low-rank matrices beside the frozen weights. " * 20,  # past the token limit
    "",
]


def test_onnx_gives_sentence_transformers_vectors(real_settings):
    onnx = make_embedder(real_settings)
    torch = make_embedder(real_settings.model_copy(update={"embedding_backend": "torch"}))
    assert type(onnx).__name__ == "OnnxEmbedder" and type(torch).__name__ == "SentenceTransformerEmbedder"
    a, b = onnx.embed(TEXTS), torch.embed(TEXTS)  # (4, 384) each
    assert a.shape == b.shape and np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert float((a * b).sum(axis=1).min()) > 0.9999


def test_a_pipeline_onnx_cannot_run_goes_to_torch(tmp_path, real_settings):
    model = tmp_path / "model"
    (model / "1_Pooling").mkdir(parents=True)
    (model / "tokenizer.json").write_text("{}", encoding="utf-8")
    (model / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_mean_tokens": True}), encoding="utf-8")
    (model / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
    ]), encoding="utf-8")
    assert "Dense" in supported(str(model))
    settings = real_settings.model_copy(update={"embedding_model": str(model)})
    assert type(make_embedder(settings)).__name__ == "SentenceTransformerEmbedder"
    with pytest.raises(UserError, match="cannot run on ONNX"):
        make_embedder(settings.model_copy(update={"embedding_backend": "onnx"}))


def test_a_model_with_prompts_gets_its_query_and_document_prompt(tmp_path, real_settings):
    # The bundled model with prompts added, as EmbeddingGemma and e5 models ship them.
    import shutil

    model = tmp_path / "prompted"
    shutil.copytree(real_settings.embedding_model_path, model)
    (model / "config_sentence_transformers.json").write_text(
        json.dumps({"prompts": {"query": "query: ", "document": "passage: "}}), encoding="utf-8")
    assert "prompts" in supported(str(model))  # torch applies them
    prompted = make_embedder(real_settings.model_copy(update={"embedding_model": str(model)}))
    plain = make_embedder(real_settings.model_copy(update={"embedding_backend": "torch"}))
    assert type(prompted).__name__ == "SentenceTransformerEmbedder"
    query, document = prompted.embed(["梯度检查点"], query=True), prompted.embed(["梯度检查点"])
    assert np.allclose(query, plain.embed(["query: 梯度检查点"]), atol=1e-5)
    assert np.allclose(document, plain.embed(["passage: 梯度检查点"]), atol=1e-5)
    assert not np.allclose(query, document, atol=1e-3)
