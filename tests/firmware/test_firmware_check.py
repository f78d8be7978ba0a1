"""Tests for tools/firmware_check.py, the secure-by-default firmware check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
import textwrap

import pytest

from tools import firmware_check as fc

from .conftest import device_configs

Write = Callable[[str, str], Path]

# A minimal configuration that passes; each section can be swapped out.
SECURE_SECTIONS: dict[str, str] = {
    "esphome": """
        esphome:
          name: test-device
          min_version: 2025.8.1
        """,
    "esp32": """
        esp32:
          board: esp32dev
        """,
    "wifi": """
        wifi:
          ssid: !secret wifi_ssid
          password: !secret wifi_password
        """,
    "api": """
        api:
          encryption:
            key: !secret api_key
        """,
    "ota": """
        ota:
          - platform: esphome
            password: !secret ota_password
        """,
}


def build(**sections: str) -> str:
    """The secure config with some sections replaced (an empty string drops one)."""
    merged = {**SECURE_SECTIONS, **sections}
    return "".join(
        textwrap.dedent(text).strip("\n") + "\n" for text in merged.values() if text
    )


def check(write: Write, text: str, name: str = "device.yaml") -> fc.Report:
    return fc.check_file(write(name, text))


# --- each insecure pattern fails with its own finding ------------------------------

CAMERA = "esp32_camera:\n  name: Camera\n"
I2S = "i2s_audio:\n  - id: speaker_i2s\n"

INSECURE: dict[str, tuple[dict[str, str], str]] = {
    "api without encryption": ({"api": "api:\n"}, fc.API_ENCRYPTION),
    "api encryption without key": (
        {"api": "api:\n  encryption:\n"},
        fc.API_ENCRYPTION,
    ),
    "ota without protection": (
        {"ota": "ota:\n  - platform: esphome\n"},
        fc.OTA_UNPROTECTED,
    ),
    "ota old mapping syntax without protection": (
        {"ota": "ota:\n  platform: esphome\n"},
        fc.OTA_UNPROTECTED,
    ),
    "inline api key": (
        {
            "api": "api:\n  encryption:\n"
            "    key: 'c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI='\n"
        },
        fc.INLINE_SECRET,
    ),
    "inline ota password": (
        {"ota": "ota:\n  - platform: esphome\n    password: hunter22\n"},
        fc.INLINE_SECRET,
    ),
    "inline ota encryption key": (
        {
            "ota": "ota:\n  - platform: esphome\n    encryption:\n"
            "      key: 'c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI='\n"
        },
        fc.INLINE_SECRET,
    ),
    "inline wifi password": (
        {"wifi": "wifi:\n  ssid: !secret wifi_ssid\n  password: 'correct horse'\n"},
        fc.INLINE_SECRET,
    ),
    "inline wifi network password": (
        {"wifi": "wifi:\n  networks:\n    - ssid: home\n      password: letmein123\n"},
        fc.INLINE_SECRET,
    ),
    "inline web_server password": (
        {
            "web": "web_server:\n  auth:\n    username: admin\n"
            "    password: admin123\n    type: digest\n"
        },
        fc.INLINE_SECRET,
    ),
    "captive portal": ({"portal": "captive_portal:\n"}, fc.CAPTIVE_PORTAL),
    "fallback ap": (
        {
            "wifi": "wifi:\n  ssid: !secret wifi_ssid\n"
            "  password: !secret wifi_password\n  ap:\n"
        },
        fc.FALLBACK_AP,
    ),
    "web server without auth": (
        {"web": "web_server:\n  port: 80\n"},
        fc.WEB_SERVER_AUTH,
    ),
    "bare web server": ({"web": "web_server:\n"}, fc.WEB_SERVER_AUTH),
    "camera web server": (
        {"cam": "esp32_camera_web_server:\n  - port: 8080\n    mode: stream\n"},
        fc.CAMERA_WEB_SERVER,
    ),
    "min_version missing": (
        {"esphome": "esphome:\n  name: test-device\n"},
        fc.MIN_VERSION_CODE,
    ),
    "min_version too old": (
        {"esphome": "esphome:\n  name: test-device\n  min_version: 2025.8.0\n"},
        fc.MIN_VERSION_CODE,
    ),
    "min_version older year": (
        {"esphome": "esphome:\n  name: test-device\n  min_version: 2024.12.4\n"},
        fc.MIN_VERSION_CODE,
    ),
    "min_version pre-release of the fix": (
        {"esphome": "esphome:\n  name: test-device\n  min_version: 2025.8.1b2\n"},
        fc.MIN_VERSION_CODE,
    ),
    "min_version not a version": (
        {"esphome": "esphome:\n  name: test-device\n  min_version: 2025.8\n"},
        fc.MIN_VERSION_CODE,
    ),
    "camera and i2s speaker on a classic esp32": (
        {"cam": CAMERA, "i2s": I2S},
        fc.CAMERA_I2S,
    ),
    "camera and i2s on an esp32-s2 board": (
        {"esp32": "esp32:\n  board: lolin_s2_mini\n", "cam": CAMERA, "i2s": I2S},
        fc.CAMERA_I2S,
    ),
    "camera and i2s with the classic variant named": (
        {
            "esp32": "esp32:\n  board: esp32cam\n  variant: esp32\n",
            "cam": CAMERA,
            "i2s": I2S,
        },
        fc.CAMERA_I2S,
    ),
}


@pytest.mark.parametrize(
    ("sections", "code"), list(INSECURE.values()), ids=list(INSECURE)
)
def test_insecure_pattern_fails(
    write: Write, sections: dict[str, str], code: str
) -> None:
    report = check(write, build(**sections))
    assert not report.ok
    assert report.codes == {code}


def test_secure_base_passes(write: Write) -> None:
    assert check(write, build()).findings == []


@pytest.mark.parametrize(
    "sections",
    [
        {"ota": "ota:\n  - platform: esphome\n    encryption:\n"},
        {
            "ota": "ota:\n  - platform: esphome\n    encryption:\n      key: !secret api_key\n"
        },
        {"ota": ""},  # no OTA at all: nothing to protect
        {
            "web": "web_server:\n  auth:\n    username: admin\n"
            "    password: !secret web_password\n    type: digest\n",
            "ota2": "ota:\n  - platform: web_server\n",
        },
        {"esphome": "esphome:\n  name: x\n  min_version: 2026.10.0\n"},
        {"esphome": "esphome:\n  name: x\n  min_version: '2025.8.1'\n"},
        {
            "wifi": "wifi:\n  ssid: !secret wifi_ssid\n  password: !env_var WIFI_PASSWORD\n"
        },
        {"esp32": "esp32:\n  board: seeed_xiao_esp32s3\n", "cam": CAMERA, "i2s": I2S},
        {
            "esp32": "esp32:\n  board: x\n  variant: ESP32S3\n",
            "cam": CAMERA,
            "i2s": I2S,
        },
        {"cam": CAMERA},
        {"i2s": I2S},
    ],
    ids=[
        "ota encryption inherits api key",
        "ota encryption key from secret",
        "no ota",
        "web server with auth",
        "newer min_version",
        "quoted min_version",
        "env var password",
        "camera and i2s on an esp32-s3 board",
        "camera and i2s on the esp32-s3 variant",
        "camera alone on esp32",
        "i2s alone on esp32",
    ],
)
def test_secure_variants_pass(write: Write, sections: dict[str, str]) -> None:
    assert check(write, build(**sections)).findings == []


def test_web_server_ota_without_auth(write: Write) -> None:
    report = check(
        write,
        build(
            ota="ota:\n  - platform: web_server\n",
            web="web_server:\n  auth:\n    username: admin\n",
        ),
    )
    assert report.codes == {fc.WEB_SERVER_AUTH, fc.OTA_UNPROTECTED}
    ota = next(f for f in report.findings if f.code == fc.OTA_UNPROTECTED)
    assert "platform web_server" in ota.message


def test_ota_encryption_without_any_key(write: Write) -> None:
    report = check(
        write,
        build(api="api:\n", ota="ota:\n  - platform: esphome\n    encryption:\n"),
    )
    assert report.codes == {fc.API_ENCRYPTION, fc.OTA_UNPROTECTED}


def test_basic_web_auth_is_a_warning(write: Write) -> None:
    report = check(
        write,
        build(
            web="web_server:\n  auth:\n    username: admin\n"
            "    password: !secret web_password\n"
        ),
    )
    assert report.ok
    assert [w.code for w in report.warnings] == [fc.WEB_SERVER_AUTH]


def test_finding_points_at_file_and_line(write: Write) -> None:
    path = write("device.yaml", build(portal="captive_portal:\n"))
    report = fc.check_file(path)
    (finding,) = report.findings
    assert finding.source == path.resolve()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[finding.line - 1] == "captive_portal:"
    assert str(finding).startswith(f"{path.resolve()}:{finding.line}: [captive-portal]")


# --- packages, includes and substitutions ------------------------------------------


def test_secret_hidden_in_package_is_found(write: Write) -> None:
    write(
        "packages/net.yaml",
        """
        wifi:
          ssid: home
          password: "plaintext-in-a-package"
        """,
    )
    path = write(
        "device.yaml",
        build(wifi="", pkg="packages:\n  net: !include packages/net.yaml\n"),
    )
    report = fc.check_file(path)
    (finding,) = report.findings
    assert finding.code == fc.INLINE_SECRET
    assert finding.source == (path.parent / "packages/net.yaml").resolve()
    assert finding.line == 3
    assert "wifi.password" in finding.message


def test_nested_package_list_form(write: Write) -> None:
    write("pkgs/inner.yaml", "captive_portal:\n")
    write("pkgs/outer.yaml", "packages:\n  - !include inner.yaml\n")
    report = check(write, build(pkg="packages:\n  - !include pkgs/outer.yaml\n"))
    assert report.codes == {fc.CAPTIVE_PORTAL}
    assert report.findings[0].source.name == "inner.yaml"


def test_security_settings_from_packages_pass(write: Write) -> None:
    write(
        "packages/secure.yaml",
        """
        api:
          encryption:
            key: !secret api_key
        ota:
          - platform: esphome
            encryption:
        """,
    )
    report = check(
        write,
        build(
            api="", ota="", pkg="packages:\n  secure: !include packages/secure.yaml\n"
        ),
    )
    assert report.findings == []


def test_main_config_overrides_package(write: Write) -> None:
    write("packages/portal.yaml", "captive_portal:\nwifi:\n  ap:\n")
    text = build(
        pkg="packages:\n  portal: !include packages/portal.yaml\n",
        wifi="wifi:\n  ssid: !secret wifi_ssid\n  password: !secret wifi_password\n"
        "  ap: !remove\n",
        portal="captive_portal: !remove\n",
    )
    assert check(write, text).findings == []


def test_main_config_removes_package_encryption(write: Write) -> None:
    write("packages/api.yaml", "api:\n  encryption:\n    key: !secret api_key\n")
    text = build(
        api="api:\n  encryption: !remove\n",
        pkg="packages:\n  api: !include packages/api.yaml\n",
    )
    assert check(write, text).codes == {fc.API_ENCRYPTION}


def test_literal_via_substitution(write: Write) -> None:
    text = build(
        subs="substitutions:\n  ota_pw: 'not-a-secret'\n",
        ota="ota:\n  - platform: esphome\n    password: ${ota_pw}\n",
    )
    report = check(write, text)
    (finding,) = report.findings
    assert finding.code == fc.INLINE_SECRET
    assert "'${ota_pw}' resolves to a literal string" in finding.message


def test_secret_via_substitution_passes(write: Write) -> None:
    text = build(
        subs="substitutions:\n  ota_pw: !secret ota_password\n",
        ota="ota:\n  - platform: esphome\n    password: $ota_pw\n",
    )
    assert check(write, text).findings == []


def test_substitution_from_package_is_used(write: Write) -> None:
    write("packages/subs.yaml", "substitutions:\n  wifi_pw: hunter2hunter2\n")
    text = build(
        pkg="packages:\n  subs: !include packages/subs.yaml\n",
        wifi="wifi:\n  ssid: !secret wifi_ssid\n  password: ${wifi_pw}\n",
    )
    assert check(write, text).codes == {fc.INLINE_SECRET}


def test_unresolvable_substitution_is_reported(write: Write) -> None:
    text = build(ota="ota:\n  - platform: esphome\n    password: ${nowhere}\n")
    report = check(write, text)
    assert report.codes == {fc.INLINE_SECRET}
    assert "cannot be resolved" in report.findings[0].message


def test_include_vars_carry_literal(write: Write) -> None:
    write(
        "packages/ota.yaml",
        "ota:\n  - platform: esphome\n    password: ${pw}\n",
    )
    text = build(
        ota="",
        pkg="packages:\n  ota: !include\n    file: packages/ota.yaml\n"
        "    vars:\n      pw: plain-text-password\n",
    )
    report = check(write, text)
    assert report.codes == {fc.INLINE_SECRET}
    assert report.findings[0].source.name == "ota.yaml"


def test_include_vars_with_secret_pass(write: Write) -> None:
    write("packages/ota.yaml", "ota:\n  - platform: esphome\n    password: ${pw}\n")
    text = build(
        ota="",
        pkg="packages:\n  ota: !include\n    file: packages/ota.yaml\n"
        "    vars:\n      pw: !secret ota_password\n",
    )
    assert check(write, text).findings == []


def test_include_outside_packages(write: Write) -> None:
    write("web.yaml", "port: 80\n")
    assert check(write, build(web="web_server: !include web.yaml\n")).codes == {
        fc.WEB_SERVER_AUTH
    }


def test_include_under_credential_is_reported(write: Write) -> None:
    write("pw.yaml", "hunter2\n")
    text = build(ota="ota:\n  - platform: esphome\n    password: !include pw.yaml\n")
    report = check(write, text)
    assert fc.INLINE_SECRET in report.codes
    assert "an !include" in report.findings[0].message


def test_missing_include_is_a_load_error(write: Write) -> None:
    report = check(write, build(pkg="packages:\n  x: !include nope.yaml\n"))
    assert report.codes == {fc.LOAD_ERROR}
    assert "nope.yaml" in report.findings[0].message


def test_include_cycle_is_bounded(write: Write) -> None:
    write("loop.yaml", "packages:\n  again: !include loop.yaml\n")
    report = check(write, build(pkg="packages:\n  loop: !include loop.yaml\n"))
    assert report.codes == {fc.LOAD_ERROR}


def test_remote_package_is_a_warning(write: Write) -> None:
    text = build(
        pkg="packages:\n  remote: github://esphome/firmware/x.yaml@main\n"
        "  remote2:\n    url: https://github.com/esphome/firmware\n"
        "    files: [x.yaml]\n"
    )
    report = check(write, text)
    assert report.ok
    assert {w.code for w in report.warnings} == {fc.REMOTE_PACKAGE}
    assert len(report.warnings) == 2


def test_extend_merges_list_items(write: Write) -> None:
    write(
        "packages/ota.yaml",
        "ota:\n  - platform: esphome\n    id: ota_main\n",
    )
    text = build(
        ota="ota:\n  - id: !extend ota_main\n    password: !secret ota_password\n",
        pkg="packages:\n  ota: !include packages/ota.yaml\n",
    )
    assert check(write, text).findings == []


def test_remove_drops_list_items(write: Write) -> None:
    write("packages/ota.yaml", "ota:\n  - platform: esphome\n    id: open_ota\n")
    text = build(
        ota="ota:\n  - id: !remove open_ota\n",
        pkg="packages:\n  ota: !include packages/ota.yaml\n",
    )
    assert check(write, text).findings == []


# --- YAML handling -----------------------------------------------------------------


def test_esphome_tags_are_inert(write: Write, tmp_path: Path) -> None:
    text = build(
        extra="""
        logger:
          level: !env_var LOG_LEVEL
        sensor: !include_dir_merge_list sensors/
        text_sensor:
          - platform: template
            lambda: !lambda |-
              return std::string("password: hunter2");
        script: !literal []
        light: !unknown_tag {a: 1}
        """
    )
    report = check(write, text)
    assert report.findings == []
    assert [w.message for w in report.warnings] == [
        "!include_dir_merge_list 'sensors/' is not followed"
    ]
    assert not (tmp_path / "sensors").exists()


def test_python_tags_are_refused(write: Write, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = build(extra=f"x: !!python/object/apply:os.system ['touch {marker}']\n")
    report = check(write, text)
    assert report.codes == {fc.LOAD_ERROR}
    assert not marker.exists()


def test_invalid_yaml_is_a_load_error(write: Write) -> None:
    assert check(write, "esphome: [\n").codes == {fc.LOAD_ERROR}


def test_non_mapping_top_level(write: Write) -> None:
    assert check(write, "- a\n- b\n").codes == {fc.LOAD_ERROR}


def test_merge_keys_are_supported(write: Write) -> None:
    text = build(
        extra="""
        .base: &base
          platform: esphome
        ota:
          - <<: *base
            password: !secret ota_password
        """,
        ota="",
    )
    assert check(write, text).findings == []


# --- the output of `esphome config` ------------------------------------------------

RESOLVED_OK = """
esphome:
  name: peephole-doorbell
  min_version: 2026.10.0
wifi:
  networks:
    - ssid: !secret 'wifi_ssid'
      password: !secret 'wifi_password'
api:
  encryption:
    key: !secret 'peephole_api_key'
ota:
  - platform: esphome
    encryption:
      key: !secret 'peephole_api_key'
"""


def test_resolved_output_passes() -> None:
    report = fc.Report(Path("x.yaml"))
    fc.check_resolved_text(RESOLVED_OK, report, Path("x.yaml"))
    assert report.findings == []


def test_resolved_output_with_literal_password() -> None:
    text = RESOLVED_OK.replace(
        "password: !secret 'wifi_password'", "password: \\033[8mhunter2\\033[28m"
    )
    report = fc.Report(Path("x.yaml"))
    fc.check_resolved_text(text, report, Path("x.yaml"))
    assert report.codes == {fc.INLINE_SECRET}
    assert "wifi.networks[0].password" in report.findings[0].message


def test_resolved_output_with_web_server_ota() -> None:
    text = RESOLVED_OK + "web_server:\n  port: 80\ncaptive_portal: {}\n"
    text = text.replace("ota:\n", "ota:\n  - platform: web_server\n")
    report = fc.Report(Path("x.yaml"))
    fc.check_resolved_text(text, report, Path("x.yaml"))
    assert report.codes == {fc.WEB_SERVER_AUTH, fc.OTA_UNPROTECTED, fc.CAPTIVE_PORTAL}


@pytest.mark.parametrize(
    ("variant", "codes"), [("ESP32", {fc.CAMERA_I2S}), ("ESP32S3", set())]
)
def test_resolved_output_camera_and_i2s(variant: str, codes: set[str]) -> None:
    """ESPHome's resolved config names the variant: the check uses it."""
    text = (
        RESOLVED_OK
        + f"esp32:\n  board: esp32dev\n  variant: {variant}\n"
        + CAMERA
        + I2S
    )
    report = fc.Report(Path("x.yaml"))
    fc.check_resolved_text(text, report, Path("x.yaml"))
    assert report.codes == codes


@pytest.mark.parametrize(
    ("esp32", "variant"),
    [
        ({"board": "esp32cam"}, "esp32"),
        ({"board": "esp32dev"}, "esp32"),
        ({"board": "nodemcu-32s"}, "esp32"),
        ({"board": "seeed_xiao_esp32s3"}, "s3"),
        ({"board": "esp32-s3-devkitc-1"}, "s3"),
        ({"board": "um_tinys3"}, "s3"),
        ({"board": "lolin_s2_mini"}, "s2"),
        ({"board": "esp32-c3-devkitm-1"}, "c3"),
        ({"board": "esp32dev", "variant": "ESP32S3"}, "s3"),
        ({"variant": "esp32"}, "esp32"),
        ({}, "esp32"),
        (None, None),
    ],
)
def test_esp32_variant(esp32: dict[str, str] | None, variant: str | None) -> None:
    config = {} if esp32 is None else {"esp32": esp32}
    assert fc.esp32_variant(config) == variant


def test_resolved_output_garbage() -> None:
    report = fc.Report(Path("x.yaml"))
    fc.check_resolved_text("INFO not yaml: [", report, Path("x.yaml"))
    assert report.codes == {fc.LOAD_ERROR}
    report = fc.Report(Path("x.yaml"))
    fc.check_resolved_text("just text", report, Path("x.yaml"))
    assert report.codes == {fc.LOAD_ERROR}


# --- command line ------------------------------------------------------------------


def test_main_passes_shipped_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert fc.main([str(path) for path in device_configs()]) == 0
    assert "ok:" in capsys.readouterr().out


def test_main_fails_with_messages(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write("bad.yaml", build(portal="captive_portal:\n", api="api:\n"))
    good = write("good.yaml", build())
    assert fc.main([str(good), str(bad)]) == 1
    err = capsys.readouterr().err
    assert "[captive-portal]" in err
    assert "[api-encryption]" in err
    assert "2 finding(s)" in err


def test_main_with_resolved_file(
    write: Write, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write("good.yaml", build())
    resolved = tmp_path / "resolved.yaml"
    resolved.write_text(RESOLVED_OK.replace("api:\n  encryption:", "api:\n  x:"))
    assert fc.main(["--resolved", str(resolved), str(good)]) == 1
    assert "(esphome config)" in capsys.readouterr().err
    assert fc.main(["--resolved", str(tmp_path / "missing.yaml"), str(good)]) == 1


def test_main_resolved_needs_one_config(write: Write) -> None:
    good = write("good.yaml", build())
    with pytest.raises(SystemExit) as exc:
        fc.main(["--resolved", "r.yaml", str(good), str(good)])
    assert exc.value.code == 2


def test_main_runs_esphome_config(write: Write, tmp_path: Path) -> None:
    fake = tmp_path / "fake-esphome"
    fake.write_text(f"#!/bin/sh\ncat <<'EOF'\n{RESOLVED_OK}EOF\n")
    fake.chmod(0o755)
    good = write("good.yaml", build())
    assert fc.main(["--esphome", str(fake), str(good)]) == 0
    failing = tmp_path / "failing-esphome"
    failing.write_text("#!/bin/sh\necho 'ERROR broken' >&2\nexit 2\n")
    failing.chmod(0o755)
    assert fc.main(["--esphome", str(failing), str(good)]) == 1
    assert fc.main(["--esphome", str(tmp_path / "absent"), str(good)]) == 1


# --- edge cases --------------------------------------------------------------------


def test_include_without_file_name(write: Write) -> None:
    report = check(write, build(pkg="packages:\n  x: !include {vars: {a: 1}}\n"))
    assert report.codes == {fc.LOAD_ERROR}
    assert "without a file name" in report.findings[0].message


def test_include_path_from_substitution(write: Write) -> None:
    write("packages/portal.yaml", "captive_portal:\n")
    text = build(
        subs="substitutions:\n  pkg_dir: packages\n",
        pkg="packages:\n  p: !include ${pkg_dir}/portal.yaml\n"
        "  q: !include ${unknown}/portal.yaml\n",
    )
    report = check(write, text)
    assert report.codes == {fc.CAPTIVE_PORTAL}
    assert [w.code for w in report.warnings] == [fc.LOAD_ERROR]
    assert "unresolved substitution" in report.warnings[0].message


def test_packages_of_the_wrong_type(write: Write) -> None:
    report = check(write, build(pkg="packages: 42\n"))
    assert report.ok
    assert "not a mapping or list" in report.warnings[0].message


def test_inline_package_contents_and_empty_entries(write: Write) -> None:
    text = build(pkg="packages:\n  inline:\n    captive_portal:\n  empty:\n  bad: 3\n")
    assert check(write, text).codes == {fc.CAPTIVE_PORTAL}


@pytest.mark.parametrize(
    ("value", "described"),
    [
        ('!lambda return "x";', "a !lambda"),
        ("!literal hunter2", "a !literal"),
        ("123456789", "a literal int"),
        ("pa${ 'ss' }word", "cannot be resolved"),
    ],
)
def test_credential_descriptions(write: Write, value: str, described: str) -> None:
    text = build(ota=f"ota:\n  - platform: esphome\n    password: {value}\n")
    report = check(write, text)
    assert report.codes == {fc.INLINE_SECRET}
    assert described in report.findings[0].message


def test_substitution_inside_a_longer_string(write: Write) -> None:
    text = build(
        subs="substitutions:\n  user: admin\n  port: 8080\n",
        extra="remote:\n  url: http://${user}:${port}/x\n",
    )
    assert check(write, text).findings == []


def test_warnings_are_printed(write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    path = write("device.yaml", build(pkg="packages:\n  r: github://a/b/c.yaml@main\n"))
    assert fc.main([str(path)]) == 0
    assert "warning:" in capsys.readouterr().err


def test_resolved_warnings_are_kept(
    write: Write, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write("good.yaml", build())
    resolved = tmp_path / "resolved.yaml"
    resolved.write_text(
        RESOLVED_OK
        + "web_server:\n  auth:\n    username: a\n    password: !secret 'p'\n",
        encoding="utf-8",
    )
    assert fc.main(["--resolved", str(resolved), str(good)]) == 0
    assert "type: digest" in capsys.readouterr().err
