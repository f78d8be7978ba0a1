"""Secure-by-default check for Peephole's ESPHome device configurations.

Usage::

    python tools/firmware_check.py esphome/peephole-doorbell.yaml [...]
    python tools/firmware_check.py --esphome .venv-esphome/bin/esphome FILE
    python tools/firmware_check.py --resolved resolved.yaml FILE

A configuration fails (exit status 1) when it has

* a native API without an encryption key (``api-encryption``);
* an OTA platform that accepts uploads without a password or encryption
  (``ota-unprotected``);
* a credential written inline instead of ``!secret`` (``inline-secret``): API
  or OTA encryption keys and every ``password:`` (Wi-Fi, fallback AP, EAP,
  OTA, web server, MQTT, ...), also when it is hidden in a package, an
  ``!include`` or a substitution;
* a captive portal (``captive-portal``) or a Wi-Fi fallback access point
  (``fallback-ap``);
* a web server without authentication (``web-server-auth``), or the camera's
  own unauthenticated HTTP server (``camera-web-server``);
* ``esphome: min_version:`` missing or older than 2025.8.1, the release that
  fixed the web server authentication bypass (``min-version``);
* a camera and an I2S speaker or microphone on a classic ESP32 or an ESP32-S2
  (``camera-i2s``): ESPHome accepts it, but the camera driver holds I2S0 and its
  interrupt there, and the device fails at run time ("Register I2S Interrupt
  error"). ESP32-S3 camera boards use LCD_CAM and leave I2S free.

The YAML is read as written, with ESPHome's tags (``!secret``, ``!include``,
``!lambda``, ``!extend``, ``!remove``, ...) turned into inert markers: nothing
is executed, no secret is read, no network access is made. Local ``packages:``
and ``!include`` files are followed and merged, and ``${substitutions}`` are
resolved, so the merged configuration is checked the way ESPHome would see it.
Remote (git) packages cannot be followed offline and are reported as warnings.

Optionally the output of ``esphome config`` (fully resolved by ESPHome itself,
secrets shown as ``!secret`` tags) is checked as well, with ``--resolved`` or by
letting this tool run ``esphome config`` (``--esphome``).

Only the standard library and PyYAML are used.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
import re
import subprocess
import sys
from typing import Any

import yaml

MIN_VERSION = (2025, 8, 1)
MIN_VERSION_TEXT = "2025.8.1"
MAX_INCLUDE_DEPTH = 20
ESPHOME_CONFIG_TIMEOUT = 300

# Finding codes.
API_ENCRYPTION = "api-encryption"
OTA_UNPROTECTED = "ota-unprotected"
INLINE_SECRET = "inline-secret"  # noqa: S105 - a finding code, not a password
CAPTIVE_PORTAL = "captive-portal"
FALLBACK_AP = "fallback-ap"
WEB_SERVER_AUTH = "web-server-auth"
CAMERA_WEB_SERVER = "camera-web-server"
MIN_VERSION_CODE = "min-version"
CAMERA_I2S = "camera-i2s"
LOAD_ERROR = "load-error"
REMOTE_PACKAGE = "remote-package"  # a warning only

# ---------------------------------------------------------------------------
# YAML loading: ESPHome tags become inert marker objects.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Secret:
    """A ``!secret name`` reference; the value is never looked up."""

    name: str


@dataclass(frozen=True)
class EnvVar:
    """An ``!env_var NAME`` reference (not inline, so not a finding)."""

    value: Any


@dataclass(frozen=True)
class Include:
    """An ``!include`` (scalar path, or mapping with ``file`` and ``vars``)."""

    value: Any
    source: Path
    line: int


@dataclass(frozen=True)
class Lambda:
    """A ``!lambda`` body: C++ source text, kept as text."""

    code: str


@dataclass(frozen=True)
class Extend:
    """``id: !extend other_id``: merge into the list item with that id."""

    id: str


@dataclass(frozen=True)
class Remove:
    """``!remove``: drop a key, or (as ``id: !remove x``) a list item."""

    id: str | None = None


@dataclass(frozen=True)
class OtherTag:
    """Any other ESPHome tag (``!include_dir_*``, ``!literal``, ...)."""

    tag: str
    value: Any


Location = tuple[Path | None, int | None]


class LineDict(dict[Any, Any]):
    """A mapping that remembers the file and line of each of its keys."""

    source: Path | None = None
    locs: dict[Any, Location]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Create a mapping with no location information."""
        super().__init__(*args, **kwargs)
        self.locs = {}

    def copy_empty(self) -> LineDict:
        """Return an empty mapping with the same location information."""
        result = LineDict()
        result.source = self.source
        result.locs = dict(self.locs)
        return result


class _Loader(yaml.SafeLoader):
    """SafeLoader that records key lines and never executes ESPHome tags."""

    source: Path


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.source = loader.source
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "unhashable mapping key", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.locs[key] = (loader.source, key_node.start_mark.line + 1)
    return result


def _node_value(loader: _Loader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return _construct_map(loader, node)
    raise yaml.constructor.ConstructorError(
        None, None, f"unexpected node {type(node).__name__}", node.start_mark
    )


_TAGS: dict[str, Callable[[Any], Any]] = {
    "!secret": lambda value: Secret(str(value)),
    "!env_var": EnvVar,
    "!lambda": lambda value: Lambda(str(value)),
    "!extend": lambda value: Extend(str(value)),
    "!remove": lambda value: Remove(str(value) if value not in ("", None) else None),
}


def _construct_tag(loader: _Loader, tag_suffix: str, node: yaml.Node) -> Any:
    value = _node_value(loader, node)
    tag = "!" + tag_suffix
    if tag == "!include":
        return Include(value, loader.source, node.start_mark.line + 1)
    if tag in _TAGS:
        return _TAGS[tag](value)
    return OtherTag(tag, value)


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_multi_constructor("!", _construct_tag)


def load_yaml_text(text: str, source: Path) -> Any:
    """Parse YAML text with ESPHome tags as markers; raises yaml.YAMLError."""
    loader = _Loader(text)
    loader.source = source
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


# ---------------------------------------------------------------------------
# Findings
# ---------------------------------------------------------------------------


def _display(path: Path) -> Path:
    """Show paths below the working directory relative to it."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


@dataclass(frozen=True)
class Finding:
    """One security problem, with where it was found."""

    code: str
    message: str
    source: Path | None = None
    line: int | None = None

    def __str__(self) -> str:
        """Format as ``file:line: [code] message``."""
        where = ""
        if self.source is not None:
            shown = _display(self.source)
            where = f"{shown}:{self.line}: " if self.line else f"{shown}: "
        return f"{where}[{self.code}] {self.message}"


@dataclass
class Report:
    """Findings (fail the check) and warnings (do not) for one config."""

    config: Path
    findings: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the configuration passed."""
        return not self.findings

    @property
    def codes(self) -> set[str]:
        """The distinct finding codes."""
        return {finding.code for finding in self.findings}

    def add(self, finding: Finding) -> None:
        """Record a finding once."""
        if finding not in self.findings:
            self.findings.append(finding)

    def warn(self, finding: Finding) -> None:
        """Record a warning once."""
        if finding not in self.warnings:
            self.warnings.append(finding)


def _where(mapping: Any, key: Any) -> Location:
    if isinstance(mapping, LineDict):
        return mapping.locs.get(key, (mapping.source, None))
    return None, None


# ---------------------------------------------------------------------------
# Substitutions
# ---------------------------------------------------------------------------

# ${name}, ${ name }, $name. Anything else inside ${...} is a Jinja expression
# that is left alone.
_VAR_RE = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def substitute(value: Any, context: dict[str, Any], depth: int = 0) -> Any:
    """Resolve substitutions in a value, recursively; unknown names are kept.

    A string that is exactly one variable takes the variable's value as is,
    so ``password: ${pw}`` with ``pw: !secret x`` resolves to ``Secret("x")``.
    """
    result: Any = value
    if depth > 10:
        pass
    elif isinstance(value, str):
        result = _substitute_string(value, context, depth)
    elif isinstance(value, dict):
        result = value.copy_empty() if isinstance(value, LineDict) else {}
        for key, item in value.items():
            result[key] = substitute(item, context, depth)
    elif isinstance(value, list):
        result = [substitute(item, context, depth) for item in value]
    elif isinstance(value, Include):
        result = Include(
            substitute(value.value, context, depth), value.source, value.line
        )
    return result


def _substitute_string(value: str, context: dict[str, Any], depth: int) -> Any:
    whole = _VAR_RE.fullmatch(value.strip())
    if whole:
        name = whole.group(1) or whole.group(2)
        if name in context:
            return substitute(context[name], context, depth + 1)
        return value

    def _replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name in context and isinstance(context[name], str | int | float):
            return str(substitute(context[name], context, depth + 1))
        return match.group(0)

    return _VAR_RE.sub(_replace, value)


# ---------------------------------------------------------------------------
# Loading a configuration: includes, packages, merging
# ---------------------------------------------------------------------------


@dataclass
class Document:
    """One loaded file (or include instance) and its variable context."""

    source: Path
    data: Any
    local_vars: dict[str, Any]


class ConfigLoader:
    """Loads a device config with its local includes and packages."""

    def __init__(self, report: Report) -> None:
        """Start loading for one report."""
        self.report = report
        self.documents: list[Document] = []
        self._cache: dict[Path, Any] = {}
        # The top-level file's substitutions, for ${vars} in include paths.
        self._root_vars: dict[str, Any] = {}

    def _read(self, path: Path, origin: Path | None, line: int | None) -> Any:
        path = path.resolve()
        if path not in self._cache:
            try:
                text = path.read_text(encoding="utf-8")
                self._cache[path] = load_yaml_text(text, path)
            except OSError as err:
                self.report.add(
                    Finding(
                        LOAD_ERROR, f"cannot read {path}: {err.strerror}", origin, line
                    )
                )
                self._cache[path] = None
            except yaml.YAMLError as err:
                self.report.add(
                    Finding(LOAD_ERROR, f"invalid YAML in {path}: {err}", path)
                )
                self._cache[path] = None
        return self._cache[path]

    def load_root(self, path: Path) -> Any:
        """Load the top-level file and every local include below it."""
        data = self._read(path, None, None)
        if data is None:
            return None
        if not isinstance(data, dict):
            self.report.add(Finding(LOAD_ERROR, "top level is not a mapping", path))
            return None
        self._root_vars = _substitutions(data)
        return self._resolve_includes(data, path.resolve(), {}, 0)

    def _load_include(
        self, include: Include, outer_vars: dict[str, Any], depth: int
    ) -> Any:
        spec = include.value
        local_vars: dict[str, Any] = dict(outer_vars)
        if isinstance(spec, dict):
            file_name = spec.get("file")
            extra = spec.get("vars") or {}
            if isinstance(extra, dict):
                local_vars.update(extra)
        else:
            file_name = spec
        if not isinstance(file_name, str) or not file_name:
            self.report.add(
                Finding(
                    LOAD_ERROR,
                    "!include without a file name",
                    include.source,
                    include.line,
                )
            )
            return None
        file_name = str(substitute(file_name, {**self._root_vars, **local_vars}))
        if "$" in file_name:
            self.report.warn(
                Finding(
                    LOAD_ERROR,
                    f"include path {file_name!r} depends on an unresolved substitution; "
                    "not followed",
                    include.source,
                    include.line,
                )
            )
            return None
        if depth >= MAX_INCLUDE_DEPTH:
            self.report.add(
                Finding(
                    LOAD_ERROR,
                    "includes nested too deeply",
                    include.source,
                    include.line,
                )
            )
            return None
        target = (include.source.parent / file_name).resolve()
        data = self._read(target, include.source, include.line)
        if data is None:
            return None
        return self._resolve_includes(data, target, local_vars, depth + 1)

    def _resolve_includes(
        self, data: Any, source: Path, local_vars: dict[str, Any], depth: int
    ) -> Any:
        self.documents.append(Document(source, data, local_vars))
        return self._walk(data, local_vars, depth)

    def _walk(self, value: Any, local_vars: dict[str, Any], depth: int) -> Any:
        if isinstance(value, Include):
            return self._load_include(value, local_vars, depth)
        if isinstance(value, LineDict):
            result = value.copy_empty()
            for key, item in value.items():
                result[key] = self._walk(item, local_vars, depth)
            return result
        if isinstance(value, list):
            return [self._walk(item, local_vars, depth) for item in value]
        if isinstance(value, OtherTag) and value.tag.startswith("!include_dir"):
            self.report.warn(
                Finding(LOAD_ERROR, f"{value.tag} {value.value!r} is not followed")
            )
        return value

    def merge_packages(self, config: dict[str, Any], depth: int = 0) -> dict[str, Any]:
        """Merge ``packages:`` into the config like ESPHome: packages first."""
        packages = config.get("packages")
        if packages is None:
            return config
        rest = config.copy_empty() if isinstance(config, LineDict) else LineDict()
        rest.update({key: value for key, value in config.items() if key != "packages"})
        source, line = _where(config, "packages")
        if isinstance(packages, dict) and not _is_remote_package(packages):
            entries = list(packages.items())
        elif isinstance(packages, list):
            entries = [(str(index), item) for index, item in enumerate(packages)]
        else:
            self.report.warn(
                Finding(LOAD_ERROR, "packages: is not a mapping or list", source, line)
            )
            return rest
        merged: Any = LineDict()
        for name, package in entries:
            if package is None:
                continue
            if isinstance(package, str) or (
                isinstance(package, dict) and _is_remote_package(package)
            ):
                self.report.warn(
                    Finding(
                        REMOTE_PACKAGE,
                        f"package {name!r} is remote and was not checked offline "
                        "(the --esphome/--resolved check covers it)",
                        source,
                        line,
                    )
                )
                continue
            if not isinstance(package, dict):
                continue
            if depth < MAX_INCLUDE_DEPTH:
                merged = merge(merged, self.merge_packages(package, depth + 1))
            else:
                merged = merge(merged, package)
        result: dict[str, Any] = merge(merged, rest)
        return result


def _is_remote_package(package: dict[str, Any]) -> bool:
    return "url" in package


def _item_id(item: Any) -> Any:
    if isinstance(item, dict):
        return item.get("id")
    return None


def merge(base: Any, override: Any) -> Any:
    """Merge two config fragments the way ESPHome merges packages."""
    if isinstance(override, Remove):
        return None
    if isinstance(base, dict) and isinstance(override, dict):
        return _merge_dicts(base, override)
    if isinstance(base, list) and isinstance(override, list):
        return _merge_lists(base, override)
    return override


def _merge_dicts(base: dict[Any, Any], override: dict[Any, Any]) -> LineDict:
    result = LineDict()
    result.source = override.source if isinstance(override, LineDict) else None
    if isinstance(base, LineDict):
        result.locs.update(base.locs)
    result.update(base)
    override_locs = override.locs if isinstance(override, LineDict) else {}
    for key, value in override.items():
        if isinstance(value, Remove):
            result.pop(key, None)
            continue
        both_maps = isinstance(result.get(key), dict) and isinstance(value, dict)
        both_lists = isinstance(result.get(key), list) and isinstance(value, list)
        if not (both_maps or both_lists) and key in override_locs:
            # The override replaces the value: report it where it was written.
            result.locs[key] = override_locs[key]
        result[key] = merge(result[key], value) if key in result else value
    return result


def _merge_lists(base: list[Any], override: list[Any]) -> list[Any]:
    result = list(base)
    for item in override:
        item_id = _item_id(item)
        if not (isinstance(item_id, Extend | Remove) and item_id.id):
            result.append(item)
            continue
        for index, existing in enumerate(result):
            if _item_id(existing) != item_id.id:
                continue
            if isinstance(item_id, Remove):
                del result[index]
            else:
                extension = {k: v for k, v in item.items() if k != "id"}
                result[index] = merge(existing, extension)
            break
    return result


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------


def _is_secret_ref(value: Any) -> bool:
    return isinstance(value, Secret | EnvVar)


def _describe(value: Any) -> str:
    if isinstance(value, Lambda):
        return "a !lambda"
    if isinstance(value, Include):
        return "an !include"
    if isinstance(value, OtherTag):
        return f"a {value.tag}"
    if isinstance(value, str):
        return "a literal string"
    return f"a literal {type(value).__name__}"


def _walk_sensitive(
    value: Any, path: tuple[Any, ...]
) -> Iterator[tuple[tuple[Any, ...], Any, LineDict]]:
    """Yield (path, value, parent) for every credential-bearing key."""
    if isinstance(value, dict):
        for key, item in value.items():
            sub_path = (*path, key)
            if key == "password" or (
                key == "key" and path and path[-1] == "encryption"
            ):
                yield sub_path, item, value  # type: ignore[misc]
            else:
                yield from _walk_sensitive(item, sub_path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk_sensitive(item, (*path, index))


def _format_path(path: tuple[Any, ...]) -> str:
    text = ""
    for part in path:
        text += (
            f"[{part}]"
            if isinstance(part, int)
            else (f".{part}" if text else str(part))
        )
    return text


def check_inline_secrets(
    report: Report, documents: Sequence[Document], substitutions: dict[str, Any]
) -> None:
    """Flag every password / encryption key that is not a ``!secret``."""
    for document in documents:
        context = {**substitutions, **document.local_vars}
        for path, raw, parent in _walk_sensitive(document.data, ()):
            if raw is None or raw == "" or isinstance(raw, dict | Remove):
                continue
            resolved = substitute(raw, context)
            if _is_secret_ref(resolved):
                continue
            if isinstance(resolved, str) and (
                "${" in resolved or _VAR_RE.search(resolved)
            ):
                detail = f"{raw!r} cannot be resolved to a !secret"
            elif resolved is not raw:
                detail = f"{raw!r} resolves to {_describe(resolved)}"
            else:
                detail = f"it is {_describe(resolved)}"
            source, line = _where(parent, path[-1])
            report.add(
                Finding(
                    INLINE_SECRET,
                    f"{_format_path(path)} must be a !secret, but {detail}",
                    source or document.source,
                    line,
                )
            )


def _present(config: dict[str, Any], key: str) -> bool:
    return key in config and not isinstance(config[key], Remove)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _version_tuple(text: str) -> tuple[int, ...] | None:
    match = re.fullmatch(r"\s*(\d+)\.(\d+)\.(\d+)(.*)", text)
    if not match:
        return None
    numbers = tuple(int(part) for part in match.groups()[:3])
    # 2025.8.1b1 / 2025.8.1-dev come before 2025.8.1.
    return numbers + ((0,) if match.group(4).strip() else (1,))


def check_structure(
    report: Report, config: dict[str, Any], *, check_min_version: bool = True
) -> None:
    """Check the merged configuration for insecure settings."""
    api_key = _check_api(report, config)
    web_auth_ok = _check_web_server(report, config)
    _check_ota(report, config, api_key=api_key, web_auth_ok=web_auth_ok)
    _check_open_doors(report, config)
    _check_camera_i2s(report, config)
    if check_min_version:
        _check_min_version(report, config)


def _check_api(report: Report, config: dict[str, Any]) -> Any:
    """Flag an API without an encryption key; return the key (or None)."""
    if not _present(config, "api"):
        return None
    api = config["api"] if isinstance(config["api"], dict) else {}
    encryption = api.get("encryption")
    if isinstance(encryption, dict) and encryption.get("key") not in (None, ""):
        return encryption["key"]
    if isinstance(encryption, dict) or ("encryption" in api and encryption is None):
        reason = (
            "api: encryption has no key (a key provisioned at runtime is set by "
            "whichever client connects first)"
        )
    else:
        reason = (
            "api: has no encryption (anyone on the network can read the camera and "
            "the ring events, and control the device)"
        )
    source, line = _where(config, "api")
    report.add(
        Finding(
            API_ENCRYPTION,
            f"{reason}; set api: encryption: key: !secret <name>",
            source,
            line,
        )
    )
    return None


def _check_web_server(report: Report, config: dict[str, Any]) -> bool:
    """Flag a web server without authentication; return whether auth is set."""
    if not _present(config, "web_server"):
        return False
    web_server = config["web_server"]
    source, line = _where(config, "web_server")
    auth = web_server.get("auth") if isinstance(web_server, dict) else None
    if (
        not isinstance(auth, dict)
        or auth.get("username") in (None, "")
        or auth.get("password") in (None, "")
    ):
        report.add(
            Finding(
                WEB_SERVER_AUTH,
                "web_server: has no authentication (auth: username / password "
                "from !secret); better, remove web_server: altogether",
                source,
                line,
            )
        )
        return False
    if str(auth.get("type", "basic")).lower() != "digest":
        report.warn(
            Finding(
                WEB_SERVER_AUTH,
                "web_server: auth uses basic authentication (password sent in "
                "reversible form); set type: digest",
                source,
                line,
            )
        )
    return True


def _check_ota(
    report: Report, config: dict[str, Any], *, api_key: Any, web_auth_ok: bool
) -> None:
    """Flag OTA platforms that accept firmware without authentication."""
    source, line = _where(config, "ota")
    for index, ota in enumerate(_as_list(config.get("ota"))):
        if not isinstance(ota, dict):
            continue
        platform = ota.get("platform", "esphome")
        label = f"ota[{index}] (platform {platform})"
        if platform == "web_server" and not web_auth_ok:
            report.add(
                Finding(
                    OTA_UNPROTECTED,
                    f"{label} accepts firmware over HTTP without authentication",
                    source,
                    line,
                )
            )
        if platform != "esphome" or ota.get("password") not in (None, ""):
            continue
        if "encryption" in ota:
            encryption = ota["encryption"]
            own_key = isinstance(encryption, dict) and encryption.get("key")
            if own_key or api_key is not None:
                continue
            reason = "has encryption without a key and no API key to inherit"
        else:
            reason = "has neither encryption nor a password"
        report.add(
            Finding(
                OTA_UNPROTECTED,
                f"{label} {reason}: anyone on the network can flash firmware; add "
                "encryption: (inherits the API key) or password: !secret <name>",
                source,
                line,
            )
        )


def _check_open_doors(report: Report, config: dict[str, Any]) -> None:
    """Flag the captive portal, a fallback AP and the camera's HTTP server."""
    if _present(config, "captive_portal"):
        source, line = _where(config, "captive_portal")
        report.add(
            Finding(
                CAPTIVE_PORTAL,
                "captive_portal: is enabled; it lets anyone who joins the fallback "
                "access point read and change the Wi-Fi settings and upload firmware",
                source,
                line,
            )
        )
    wifi = config.get("wifi")
    if isinstance(wifi, dict) and _present(wifi, "ap"):
        source, line = _where(wifi, "ap")
        report.add(
            Finding(
                FALLBACK_AP,
                "wifi: ap: opens a fallback access point whenever the Wi-Fi is lost; "
                "remove it",
                source,
                line,
            )
        )
    if _present(config, "esp32_camera_web_server"):
        source, line = _where(config, "esp32_camera_web_server")
        report.add(
            Finding(
                CAMERA_WEB_SERVER,
                "esp32_camera_web_server: serves the camera over plain HTTP without "
                "authentication; use the (encrypted) native API only",
                source,
                line,
            )
        )


# ESP32 variants other than the classic one, as ESPHome spells them in
# `esp32: variant:` (ESP32S3) and as board names carry them
# (esp32-s3-devkitc-1, seeed_xiao_esp32s3, lolin_s2_mini, um_tinys3, ...).
_VARIANT_RE = re.compile(r"(s2|s3|c2|c3|c5|c61|c6|h2|p4)(?!\d)")
# Variants whose camera interface is built on I2S0.
_CAMERA_ON_I2S = {"esp32", "s2"}


def esp32_variant(config: dict[str, Any]) -> str | None:
    """Return the ESP32 variant (``esp32``, ``s3``, ...) of a config, None if no ESP32.

    ``esp32: variant:`` wins; otherwise the board name tells: one without
    another variant's marker is a classic ESP32 (``esp32cam``, ``esp32dev``).
    ``esphome config`` output always names the variant.
    """
    esp32 = config.get("esp32")
    if not isinstance(esp32, dict):
        return None
    for key in ("variant", "board"):
        value = esp32.get(key)
        if isinstance(value, str) and value:
            match = _VARIANT_RE.search(value.lower())
            return match.group(1) if match else "esp32"
    return "esp32"


def _check_camera_i2s(report: Report, config: dict[str, Any]) -> None:
    """Flag a camera beside I2S audio on a variant whose camera uses I2S0."""
    if not (_present(config, "esp32_camera") and _present(config, "i2s_audio")):
        return
    variant = esp32_variant(config)
    if variant not in _CAMERA_ON_I2S:
        return
    source, line = _where(config, "i2s_audio")
    chip = "a classic ESP32" if variant == "esp32" else "an ESP32-S2"
    report.add(
        Finding(
            CAMERA_I2S,
            f"esp32_camera and i2s_audio on {chip}: the camera driver holds I2S0 "
            "and its interrupt, and the device fails at run time ('Register I2S "
            "Interrupt error'); use an ESP32-S3 camera board "
            "(peephole-doorbell-s3.yaml) or a separate door speaker "
            "(peephole-door-speaker.yaml)",
            source,
            line,
        )
    )


def _check_min_version(report: Report, config: dict[str, Any]) -> None:
    """Flag a missing or too old ``esphome: min_version``."""
    esphome = config.get("esphome")
    source, line = _where(config, "esphome")
    raw = esphome.get("min_version") if isinstance(esphome, dict) else None
    if raw in (None, ""):
        report.add(
            Finding(
                MIN_VERSION_CODE,
                f"esphome: min_version is missing; set it to {MIN_VERSION_TEXT} or "
                "later (web_server authentication bypass fixed there)",
                source,
                line,
            )
        )
        return
    version = _version_tuple(str(raw))
    if version is not None and version >= (*MIN_VERSION, 1):
        return
    source, line = _where(esphome, "min_version")
    report.add(
        Finding(
            MIN_VERSION_CODE,
            f"esphome: min_version {raw} is below {MIN_VERSION_TEXT} (web_server "
            "authentication bypass fixed there)",
            source,
            line,
        )
    )


def _substitutions(config: dict[str, Any]) -> dict[str, Any]:
    subs = config.get("substitutions")
    return dict(subs) if isinstance(subs, dict) else {}


def collect_substitutions(loader: ConfigLoader, root: dict[str, Any]) -> dict[str, Any]:
    """Gather substitutions from every document, the top-level file winning."""
    merged: dict[str, Any] = {}
    for document in reversed(loader.documents):
        if isinstance(document.data, dict):
            merged.update(_substitutions(document.data))
    merged.update(_substitutions(root))
    return merged


def check_file(path: Path) -> Report:
    """Check one device configuration as written (plus its local packages)."""
    report = Report(path)
    loader = ConfigLoader(report)
    root = loader.load_root(path)
    if root is None:
        return report
    substitutions = collect_substitutions(loader, root)
    check_inline_secrets(report, loader.documents, substitutions)
    merged = loader.merge_packages(root)
    merged = substitute(merged, _substitutions(merged) | substitutions)
    check_structure(report, merged)
    return report


def check_resolved_text(text: str, report: Report, origin: Path) -> None:
    """Check the YAML printed by ``esphome config`` (already fully resolved).

    ESPHome prints values that came from secrets.yaml as ``!secret`` tags, so
    inline credentials are still recognisable. ``min_version`` is not checked
    here: ESPHome fills in its own version when it is missing.
    """
    try:
        data = load_yaml_text(text, origin)
    except yaml.YAMLError as err:
        report.add(
            Finding(LOAD_ERROR, f"cannot parse esphome config output: {err}", origin)
        )
        return
    if not isinstance(data, dict):
        report.add(
            Finding(LOAD_ERROR, "esphome config output is not a mapping", origin)
        )
        return
    check_inline_secrets(report, [Document(origin, data, {})], {})
    check_structure(report, data, check_min_version=False)


def run_esphome_config(esphome: str, path: Path, report: Report) -> str | None:
    """Run ``esphome config`` and return its YAML output, or None on failure."""
    try:
        completed = subprocess.run(  # noqa: S603 - the command is given by the user
            [esphome, "config", str(path)],
            capture_output=True,
            text=True,
            timeout=ESPHOME_CONFIG_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        report.add(Finding(LOAD_ERROR, f"could not run {esphome} config: {err}", path))
        return None
    if completed.returncode != 0:
        tail = "\n".join(
            (completed.stdout + completed.stderr).strip().splitlines()[-15:]
        )
        report.add(Finding(LOAD_ERROR, f"esphome config failed:\n{tail}", path))
        return None
    return completed.stdout


def _print_report(report: Report) -> None:
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for finding in report.findings:
        print(f"FAIL: {finding}", file=sys.stderr)
    if report.ok:
        print(f"ok: {report.config}")
    else:
        print(f"{report.config}: {len(report.findings)} finding(s)", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="firmware_check",
        description="Fail on insecure ESPHome device configurations.",
    )
    parser.add_argument("configs", nargs="+", type=Path, help="device YAML files")
    parser.add_argument(
        "--esphome",
        metavar="CMD",
        help="also run 'CMD config FILE' and check the fully resolved output",
    )
    parser.add_argument(
        "--resolved",
        metavar="FILE",
        type=Path,
        help="also check this saved 'esphome config' output (one config only)",
    )
    args = parser.parse_args(argv)
    if args.resolved and len(args.configs) != 1:
        parser.error("--resolved needs exactly one config")

    failed = False
    for config in args.configs:
        report = check_file(config)
        resolved_text: str | None = None
        if args.resolved:
            try:
                resolved_text = args.resolved.read_text(encoding="utf-8")
            except OSError as err:
                report.add(Finding(LOAD_ERROR, f"cannot read {args.resolved}: {err}"))
        elif args.esphome:
            resolved_text = run_esphome_config(args.esphome, config, report)
        if resolved_text is not None:
            resolved_report = Report(config)
            check_resolved_text(
                resolved_text, resolved_report, Path(f"{config} (esphome config)")
            )
            for finding in resolved_report.findings:
                report.add(finding)
            for warning in resolved_report.warnings:
                report.warn(warning)
        _print_report(report)
        failed = failed or not report.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
