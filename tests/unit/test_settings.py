"""One typed settings object: defaults < config file < env vars < flags."""

from __future__ import annotations

import pytest

from chatbot.errors import UserError
from chatbot.settings import DEFAULT_EMBEDDING_MODEL, load_settings


def test_defaults_are_offline_and_bundled(tmp_path):
    settings = load_settings()
    assert settings.embedding_model == DEFAULT_EMBEDDING_MODEL
    assert settings.offline is True
    assert settings.embedding_model_path.endswith("model")  # the package's local folder, not a hub name
    assert (settings.corpus_dir / "000_7395808d35da1515.txt").is_file()


def test_precedence_file_env_flag(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text("top_k = 7\ncandidates = 11\nchunk_size = 300\n", encoding="utf-8")
    monkeypatch.setenv("NOTES_CHAT_CONFIG", str(config))
    monkeypatch.setenv("NOTES_CHAT_CANDIDATES", "12")
    settings = load_settings(chunk_size=350)
    assert (settings.top_k, settings.candidates, settings.chunk_size) == (7, 12, 350)


def test_config_in_data_dir_is_picked_up(tmp_path, monkeypatch):
    (tmp_path / "config.toml").write_text('embedding_model = "/models/bge"\n', encoding="utf-8")
    monkeypatch.setenv("NOTES_CHAT_DATA_DIR", str(tmp_path))
    assert load_settings().embedding_model_path == "/models/bge"


@pytest.mark.parametrize("content", ["top_k = [", "top_k = -3"])
def test_bad_config_is_one_sentence(tmp_path, content):
    config = tmp_path / "c.toml"
    config.write_text(content, encoding="utf-8")
    with pytest.raises(UserError) as info:
        load_settings(config_file=config)
    assert "\n" not in str(info.value)


def test_an_eval_folder_gets_its_own_index_but_the_users_models(tmp_path):
    from chatbot.measure.evaluate import notes_settings

    (tmp_path / "notes").mkdir()
    settings = load_settings(data_dir=tmp_path / "data")
    evaluated = notes_settings(settings, tmp_path / "notes")
    assert evaluated.data_dir.parent == tmp_path / "data" / "eval" and evaluated.corpus_dir == tmp_path / "notes"
    assert evaluated.effective_models_dir == tmp_path / "data" / "models"  # a pulled embedder is found there
