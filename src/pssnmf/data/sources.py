"""The public-source manifest (``resources/sources.yaml``) and checksummed fetching.

:func:`fetch` gets one source from its public URL, from an http(s) mirror, or from a
local folder laid out like ``../shared/data``; it retries network errors, checks
the size and SHA-256 against the manifest, and moves the file into place only when
both match, so a wrong checksum or a truncated download leaves no file behind.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from pssnmf.data.atomic import atomic_path

log = logging.getLogger(__name__)

_CHUNK = 1 << 20


class SourceError(OSError):
    """A source that cannot be fetched or does not match its manifest entry.

    An OSError, so that every command reports it as bad input (:mod:`pssnmf.commands`)."""


@dataclass(frozen=True)
class Source:
    id: str
    url: str | None
    mirror_path: str
    sha256: str | None
    size: int | None
    licence: str = ""
    note: str = ""


def load_manifest(path: str | os.PathLike) -> dict[str, Source]:
    """Read ``sources.yaml`` into ``{id: Source}``; raise ``ValueError`` naming a bad entry."""
    path = Path(path)
    with open(path) as handle:
        document = yaml.safe_load(handle)
    if not isinstance(document, dict) or not isinstance(document.get("sources"), list):
        raise ValueError(f"{path}: expected a mapping with a 'sources' list")
    sources: dict[str, Source] = {}
    for number, entry in enumerate(document["sources"], start=1):
        if not isinstance(entry, dict):
            raise ValueError(f"{path}: source {number} is not a mapping")
        unknown = set(entry) - set(Source.__dataclass_fields__)
        missing = {"id", "url", "mirror_path", "sha256", "size"} - set(entry)
        if unknown or missing:
            raise ValueError(
                f"{path}: source {entry.get('id', number)}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}"
            )
        source = Source(**entry)
        if source.id in sources:
            raise ValueError(f"{path}: source id {source.id!r} appears twice")
        sources[source.id] = source
    return sources


def source_url(source: Source, mirror: str | None) -> str:
    """The URL (or local path) ``source`` is fetched from: the mirror's if given, else its own."""
    if mirror:
        if mirror.startswith(("http://", "https://")):
            quoted = urllib.parse.quote(source.mirror_path)
            return mirror.rstrip("/") + "/" + quoted
        return str(Path(mirror) / source.mirror_path)
    if not source.url:
        raise SourceError(
            f"source {source.id!r} ({source.mirror_path}) has no public URL of its own; "
            "set data.mirror or data.local_dir in the config to a folder or URL that holds it"
        )
    return source.url


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy_from(location: str, tmp: Path, retries: int, wait: float) -> None:
    if not location.startswith(("http://", "https://")):
        if not Path(location).is_file():
            raise FileNotFoundError(location)
        shutil.copyfile(location, tmp)
        return
    last: Exception | None = None
    for attempt in range(1, retries + 1):
        try:
            request = urllib.request.Request(location, headers={"User-Agent": "pssnmf-workflow"})
            with urllib.request.urlopen(request, timeout=60) as response, open(tmp, "wb") as out:
                expected = response.headers.get("Content-Length")
                shutil.copyfileobj(response, out, _CHUNK)
            if expected is not None and tmp.stat().st_size != int(expected):
                raise OSError(f"connection closed after {tmp.stat().st_size} of {expected} bytes")
            return
        except urllib.error.HTTPError as err:
            if err.code in (404, 403, 410):
                raise  # retrying will not help
            last = err
        except (urllib.error.URLError, OSError, TimeoutError) as err:
            last = err
        log.warning("%s: attempt %d of %d failed (%s)", location, attempt, retries, last)
        if attempt < retries:
            time.sleep(wait * attempt)
    assert last is not None
    raise last


def fetch(
    source: Source,
    out: str | os.PathLike,
    *,
    mirror: str | None = None,
    first_seen_dir: str | os.PathLike | None = None,
    retries: int = 3,
    wait: float = 2.0,
) -> Path:
    """Fetch ``source`` to ``out`` (atomically), verifying size and SHA-256.

    Where the manifest has no checksum, the first download's is written to
    ``first_seen_dir/<id>.sha256`` (with a warning) and later fetches must match it.
    """
    out = Path(out)
    location = source_url(source, mirror)
    log.info("fetching %s from %s", source.id, location)
    with atomic_path(out) as tmp:
        try:
            _copy_from(location, tmp, retries, wait)
        except (urllib.error.URLError, OSError, TimeoutError) as err:
            hint = (
                "check data.mirror" if mirror else "no internet? set data.mirror or data.local_dir to a copy"
            )
            raise SourceError(f"source {source.id!r}: could not fetch {location}: {err} ({hint})") from err
        size = tmp.stat().st_size
        if source.size is not None and size != source.size:
            raise SourceError(
                f"source {source.id!r}: {location} gave {size} bytes, expected {source.size} "
                "(truncated or changed download); no file written"
            )
        digest = sha256_of(tmp)
        expected = source.sha256
        recorded = Path(first_seen_dir) / f"{source.id}.sha256" if first_seen_dir else None
        if expected is None and recorded is not None and recorded.is_file():
            expected = recorded.read_text().split()[0]
        if expected is not None and digest != expected:
            raise SourceError(
                f"source {source.id!r}: {location} has SHA-256 {digest}, expected {expected}; no file written"
            )
        if expected is None:
            log.warning(
                "source %r: no checksum known; recording this download's SHA-256 %s%s",
                source.id,
                digest,
                f" in {recorded}" if recorded else "",
            )
            if recorded is not None:
                with atomic_path(recorded) as rec_tmp:
                    rec_tmp.write_text(f"{digest}  {source.mirror_path}\n")
    log.info("%s: %d bytes, SHA-256 %s", out, size, digest)
    return out


def unreachable(sources: list[Source], mirror: str | None, timeout: float = 10.0) -> list[str]:
    """The sources that cannot be fetched now, each as ``'mirror_path (location): reason'``.

    A cheap check before any job starts (one HEAD request or file test per source),
    so an offline run stops at once with the full list instead of failing job by job.
    An http answer other than 404/410 counts as reachable: some servers refuse HEAD.
    """
    problems = []
    for source in sources:
        try:
            location = source_url(source, mirror)
        except SourceError as err:
            problems.append(f"{source.mirror_path}: {err}")
            continue
        if not location.startswith(("http://", "https://")):
            if not Path(location).is_file():
                problems.append(f"{source.mirror_path} ({location}): no such file")
            continue
        request = urllib.request.Request(location, method="HEAD", headers={"User-Agent": "pssnmf-workflow"})
        try:
            with urllib.request.urlopen(request, timeout=timeout):
                pass
        except urllib.error.HTTPError as err:
            if err.code in (404, 410):
                problems.append(f"{source.mirror_path} ({location}): HTTP {err.code}")
        except (urllib.error.URLError, OSError, TimeoutError) as err:
            problems.append(f"{source.mirror_path} ({location}): {getattr(err, 'reason', err)}")
    return problems


# ------------------------------------------------------------------ what a config needs
def needed_sources(data: dict) -> list[str]:
    """The source ids the data rules read under a config's ``data`` section (``tcga_route``,
    ``cell_lines``, ``cosmic_version``)."""
    needed = ["zou2021_tables", "volkova2020_table4"]
    needed += ["mc3_maf", "tcga_cdr"] if data["tcga_route"] == "maf" else ["tcga_mc3_catalog", "tcga_mc3_samples"]
    needed += ["depmap_mutations", "depmap_sample_info", "grch37_fasta"] if data["cell_lines"] == "ccle" \
        else ["gdsc_catalog"]
    needed += [f"cosmic_{data['cosmic_version']}_SBS_GRCh37", f"cosmic_{data['cosmic_version']}_SBS_GRCh37_exome"]
    return needed


def check_local_copies(sources: dict[str, Source], data: dict, manifest_name: str, local_dir: str | None,
                       mirror: str | None) -> None:
    """Before any job: a ValueError saying what to do where the sources a config needs
    (:func:`needed_sources`) are not in the manifest, have no public URL and no copy, or are
    missing from or differ (size; SHA-256 with ``data.verify_local``) in ``local_dir`` or a mirror
    folder.  ``manifest_name``: the manifest as the user wrote it, for the messages."""
    needed = needed_sources(data)
    routes = f"data.tcga_route={data['tcga_route']!r}, data.cell_lines={data['cell_lines']!r}"
    unlisted = [s for s in needed if s not in sources]
    if unlisted:
        raise ValueError(
            f"data.manifest = {manifest_name} lists no source {', '.join(unlisted)}, which this config needs "
            f"({routes}, data.cosmic_version={data['cosmic_version']!r}); use a manifest that lists them, such as "
            "resources/sources.yaml")
    if local_dir:
        folder, key = local_dir, "data.local_dir"
    elif mirror and not mirror.startswith("http"):
        folder, key = mirror, "data.mirror"
    else:
        folder, key = None, None
    if folder is None:
        if not mirror:
            for source_id in needed:
                if not sources[source_id].url:
                    raise ValueError(
                        f"source {source_id} ({sources[source_id].mirror_path}) has no public URL; set data.mirror "
                        f"or data.local_dir to a folder or URL holding it (data.tcga_route={data['tcga_route']!r} "
                        "needs it)")
        return
    missing = [sources[s].mirror_path for s in needed if not (Path(folder) / sources[s].mirror_path).is_file()]
    if missing:
        raise ValueError(
            f"{key} = {folder} lacks {len(missing)} needed file(s): {', '.join(missing)}. Put them there (layout of "
            f"{manifest_name}'s mirror_path), point {key} at a folder that has them, or change data.tcga_route / "
            "data.cell_lines.")
    # A size that differs from the pinned one is caught here, for free; the checksums of files read
    # in place follow (data.verify_local; a mirror's copies are checked by fetch).
    wrong = [f"{sources[s].mirror_path} ({size} bytes, expected {sources[s].size})" for s in needed
             if sources[s].size is not None
             and (size := (Path(folder) / sources[s].mirror_path).stat().st_size) != sources[s].size]
    if wrong:
        raise ValueError(f"{key} = {folder}: file(s) differ from {manifest_name}: {', '.join(wrong)}")
    if key == "data.local_dir" and data["verify_local"]:
        wrong = [f"{sources[s].mirror_path} (SHA-256 {digest}, expected {sources[s].sha256})" for s in needed
                 if sources[s].sha256 is not None
                 and (digest := sha256_of(Path(folder) / sources[s].mirror_path)) != sources[s].sha256]
        if wrong:
            raise ValueError(
                f"{key} = {folder}: file(s) differ from the SHA-256 pinned in {manifest_name}: {', '.join(wrong)}. "
                "Restore them, or set data.verify_local: false to read them as they are.")
