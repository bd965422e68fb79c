# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the postgresql.conf parser/editor."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

import pytest

from ansible_collections.pgssl.postgresql.plugins.module_utils import _pgconf as c
from ansible_collections.pgssl.postgresql.plugins.module_utils._pgconf import lexer

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures')
STOCK = sorted(glob.glob(os.path.join(FIXTURES, 'postgresql-*.conf')))


def test_fixtures_present():
    assert len(STOCK) >= 3  # PG 15 (Debian), 16 and 18 (initdb)


@pytest.mark.parametrize('path', STOCK, ids=os.path.basename)
def test_stock_files_round_trip_byte_exact(path):
    text = open(path).read()
    lines = c.parse(text)
    assert c.render(lines) == text
    assert [l for l in lines if l.kind == 'invalid'] == []
    new, changes = c.set_settings(lines, {})
    assert c.render(new) == text and changes == []


@pytest.mark.parametrize('path', STOCK, ids=os.path.basename)
def test_stock_files_edit_only_what_is_asked(path):
    text = open(path).read()
    lines = c.parse(text)
    new, changes = c.set_settings(
        lines, {'ssl': True, 'ssl_cert_file': '/etc/ssl/x.crt', 'ssl_min_protocol_version': 'TLSv1.2'}
    )
    out = c.render(new)
    # every original line is still there, unchanged and in order
    assert out.startswith(text)
    tail = out[len(text) :]
    assert c.MANAGED_MARKER in tail
    assert "ssl = on\n" in tail and "ssl_cert_file = '/etc/ssl/x.crt'\n" in tail
    assert "ssl_min_protocol_version = 'TLSv1.2'\n" in tail
    assert {ch['name'] for ch in changes} == {'ssl', 'ssl_cert_file', 'ssl_min_protocol_version'}
    # idempotent
    again, changes2 = c.set_settings(
        c.parse(out), {'ssl': 'yes', 'ssl_cert_file': '/etc/ssl/x.crt', 'ssl_min_protocol_version': 'TLSv1.2'}
    )
    assert changes2 == [] and c.render(again) == out


def test_effective_line_edited_in_place_keeping_comment_and_spacing():
    text = (
        "ssl = off\n"
        "ssl_ciphers = 'HIGH:MEDIUM:+3DES:!aNULL'   # allowed SSL ciphers\n"
        "ssl    =   off   # later line wins\n"
        "#ssl = on\n"
    )
    new, changes = c.set_settings(c.parse(text), {'ssl': 'on'})
    out = c.render(new)
    assert out == (
        "ssl = off\n"
        "ssl_ciphers = 'HIGH:MEDIUM:+3DES:!aNULL'   # allowed SSL ciphers\n"
        "ssl    =   on   # later line wins\n"
        "#ssl = on\n"
    )
    assert changes == [{'name': 'ssl', 'before': 'off', 'after': 'on', 'line': 3}]


def test_no_prefix_matching():
    text = "ssl_ciphers = 'HIGH'\nssl_ca_file = 'a'\n"
    new, changes = c.set_settings(c.parse(text), {'ssl': 'on'})
    out = c.render(new)
    assert out.startswith(text) and out.endswith('ssl = on\n')
    assert changes[0]['line'] is None


@pytest.mark.parametrize(
    'a,b,same',
    [
        ('on', 'true', True),
        ('yes', True, True),
        ('1', 'on', True),
        ('off', '0', True),
        ('off', 'on', False),
        ('128MB', '131072kB', True),
        ('1GB', '1024MB', True),
        ('1min', '60s', True),
        ('60s', '61s', False),
        ('TLSv1.2', 'TLSv1.2', True),
        ('TLSv1.2', 'tlsv1.2', False),
        ('100', '100.0', True),
        ('abc', None, False),
    ],
)
def test_value_comparison(a, b, same):
    assert c.same_value(a, b) is same


@pytest.mark.parametrize(
    'value,rendered',
    [
        (True, 'on'),
        (False, 'off'),
        ('on', 'on'),
        (5, '5'),
        ('128MB', '128MB'),
        ('/etc/ssl/server.crt', "'/etc/ssl/server.crt'"),
        ("it's", "'it''s'"),
        ('TLSv1.2', "'TLSv1.2'"),
        ('HIGH:!aNULL', "'HIGH:!aNULL'"),
        ('a\\b', "'a\\\\b'"),
    ],
)
def test_quoting(value, rendered):
    assert c.quote(value) == rendered
    assert c.unquote(rendered) == (('on' if value else 'off') if isinstance(value, bool) else str(value))


def test_escapes_unquoted():
    assert c.unquote(r"'a\'b''c\\d\n'") == "a'b'c\\d\n"


def test_managed_block_reused_when_last_and_not_when_followed():
    text = "port = 5432\n"
    new, _ch = c.set_settings(c.parse(text), {'ssl': 'on'})
    new, _ch = c.set_settings(new, {'ssl_ciphers': 'HIGH'})
    out = c.render(new)
    assert out.count(c.MANAGED_MARKER) == 1
    assert out.endswith("ssl = on\nssl_ciphers = 'HIGH'\n")
    followed = out + "include_dir = 'conf.d'\n"
    new, _ch = c.set_settings(c.parse(followed), {'ssl_ca_file': 'x'})
    assert c.render(new).count(c.MANAGED_MARKER) == 2  # a new block after the include


def test_reset_to_default_comments_out():
    text = "ssl = on\nssl = off  # again\n"
    new, changes = c.set_settings(c.parse(text), {'ssl': None})
    out = c.render(new)
    assert c.effective_index(c.parse(out), 'ssl') is None
    assert len(changes) == 2


def test_missing_final_newline_and_crlf_kept():
    text = "a = 1\r\nb = 2"
    new, _ch = c.set_settings(c.parse(text), {'c': 3})
    out = c.render(new)
    assert out.startswith("a = 1\r\nb = 2\r\n") and out.endswith("c = 3\r\n")


def test_bad_names_refused():
    with pytest.raises(c.PgConfError):
        c.set_settings([], {'bad name': 1})
    with pytest.raises(c.PgConfError):
        c.set_settings([], {'include_dir': 'x'})


def test_overrides_from_includes_and_auto_conf(tmp_path):
    conf = tmp_path / 'postgresql.conf'
    (tmp_path / 'conf.d').mkdir()
    (tmp_path / 'conf.d' / '10-ssl.conf').write_text("ssl_cert_file = 'other.crt'\n")
    (tmp_path / 'conf.d' / '.hidden.conf').write_text("ssl_key_file = 'x'\n")
    (tmp_path / 'extra.conf').write_text("ssl = off\n")
    conf.write_text(
        "ssl = on\nssl_cert_file = 'a.crt'\ninclude_dir = 'conf.d'\n"
        "include_if_exists = 'missing.conf'\ninclude 'extra.conf'\n"
        "ssl_key_file = 'k'\n"
    )
    auto = tmp_path / 'postgresql.auto.conf'
    auto.write_text("# Do not edit this file manually!\nssl_key_file = '/auto.key'\n")
    lines = c.parse(conf.read_text())
    found = c.find_overrides(str(conf), lines, ['ssl', 'ssl_cert_file', 'ssl_key_file', 'ssl_ca_file'], str(auto))
    summary = sorted((os.path.basename(o['file']), o['line'], o['name'], o['via']) for o in found)
    assert summary == [
        ('10-ssl.conf', 1, 'ssl_cert_file', 'include'),
        ('extra.conf', 1, 'ssl', 'include'),
        ('postgresql.auto.conf', 2, 'ssl_key_file', 'ALTER SYSTEM'),
    ]
    assert c.disable_lines(auto.read_text(), [2], delete=True) == "# Do not edit this file manually!\n"
    assert c.disable_lines("a = 1\nb = 2\n", [1]).startswith('#a = 1')


def test_needs_restart():
    assert c.needs_restart(['ssl', 'listen_addresses', 'ssl_ciphers', 'port']) == ['listen_addresses', 'port']


# --------------------------------------------------------------------------- issue 7, items 5-6


@pytest.mark.parametrize('value', ["HIGH'\nssl = off\n#", 'a\x00b', 'x\ry', 'bell\x07', 'v\x1b'])
def test_item5_values_that_would_add_a_line_are_refused(value):
    with pytest.raises(c.PgConfError, match='control character'):
        c.set_settings(c.parse('ssl = on\n'), {'ssl_ciphers': value})


@pytest.mark.parametrize('value', ["it's", 'back\\slash', "a'b''c", 'x # y', 'tab\there', 'é', '\\', "'", ''])
def test_item5_values_round_trip_through_the_server_quoting(value):
    new, _ch = c.set_settings(c.parse('ssl = on\n'), {'ssl_ciphers': value})
    again = c.parse(c.render(new))
    assert c.syntax_errors(again) == []
    assert c.effective_values(again)['ssl_ciphers'] == value


def test_item6_only_newline_ends_a_line():
    text = "ssl = off\n# x\fssl = on\n# y\x0bssl = on\n# z\u2028ssl = on\n# w\x85ssl = on\n"
    lines = c.parse(text)
    assert c.effective_values(lines) == {'ssl': 'off'}
    new, changes = c.set_settings(lines, {'ssl': True})
    assert changes and changes[0]['before'] == 'off'
    assert c.render(new).startswith('ssl = on\n# x\fssl = on')


def test_lexer_matches_the_server_on_tricky_values():
    assert c.parse("a = 0x1F\n")[0].value == '0x1F'
    assert c.parse("a = abc.def\n")[0].kind == 'invalid'  # a qualified name is not a value
    assert c.parse("a = /etc/x\n")[0].kind == 'invalid'  # an unquoted path is not either
    assert c.parse("a = 'x\\101\\n'\n")[0].value == 'xA\n'
    assert c.parse("a = 'x\\0y'\n")[0].value == 'x'
    assert c.parse("a 5 # no equals sign\n")[0].value == '5'
    assert c.parse("a = 1.5GB\n")[0].kind == 'invalid'


def test_string_settings_compare_as_text():
    lines = c.parse("application_name = 'TRUE'\nssl = 'true'\n")
    _new, changes = c.set_settings(lines, {'application_name': 'on', 'ssl': True})
    assert [ch['name'] for ch in changes] == ['application_name']


def test_letter_classes_match_the_flex_definition():
    """The lexer spells letters as a complement (fast to compile); it must accept exactly
    A-Z, a-z, _ and everything from \\x80 on, as guc-file.l does."""
    import re

    spelled = r'A-Za-z_\x80-\U0010ffff'
    reference = {
        'ID': re.compile(r'[%s][%s0-9]*' % (spelled, spelled)),
        'QUALIFIED_ID': re.compile(r'[%s][%s0-9]*\.[%s][%s0-9]*' % ((spelled,) * 4)),
        'UNQUOTED_STRING': re.compile(r'[%s](?:[%s0-9]|[-._:/])*' % (spelled, spelled)),
    }
    rules = dict(lexer._TOKEN_RULES)
    points = list(range(0, 0x800)) + list(range(0xD7F0, 0xE010))
    points += [0xFFFD, 0xFFFF, 0x10000, 0x10FFFF]
    for point in points:
        char = chr(point)
        for text in (char, 'a' + char, 'a' + char + '.b', 'a.' + char, 'a.b' + char + 'c'):
            for name, pattern in reference.items():
                want, got = pattern.match(text), rules[name].match(text)
                assert (want and want.group()) == (got and got.group()), (name, text)
