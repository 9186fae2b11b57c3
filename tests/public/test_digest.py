#!/usr/bin/env python3
"""Unit tests of digest.py on hand-written JSON lines (popflow's contract).

    python3 tests/public/test_digest.py        (standard library unittest)
"""
import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
DIGEST = os.path.join(HERE, 'digest.py')


def run(lines):
    data = ''.join((l if isinstance(l, str) else json.dumps(l)) + '\n' for l in lines)
    p = subprocess.run([sys.executable, DIGEST], input=data.encode('utf-8'),
                       capture_output=True)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def sess(first, txns, proto='pop3', greeting={'status': '+OK', 'text': 'hi'},
         cli=('192.168.0.4', 26272), srv=('212.227.15.166', 110), n=1):
    return {'type': 'session', 'session': n,
            'client': {'ip': cli[0], 'port': cli[1]}, 'server': {'ip': srv[0], 'port': srv[1]},
            'ip_version': 6 if ':' in cli[0] else 4, 'start': '2013-08-22T19:20:00Z',
            'end': '2013-08-22T19:20:01Z', 'end_reason': 'fin', 'first_frame': first,
            'protocol': proto, 'greeting': greeting, 'transactions': txns, 'anomalies': []}


def tx(cmd, arg='', status='+OK', multi=False, octets=None, lines=None, partial=False):
    d = {'command': cmd, 'argument': arg, 'status': status, 'text': '', 'multiline': multi,
         'partial': partial}
    if multi:
        d['body_octets'] = octets
        d['body_lines'] = lines
    return d


SUMMARY = {'type': 'summary', 'sessions': 0}


class DigestTest(unittest.TestCase):
    def test_brief_example(self):
        rc, out, err = run([sess(32, [
            tx('CAPA', multi=True, octets=59, lines=12),
            tx('USER', 'someone'),
            tx('RETR', '1', multi=True, octets=1317, lines=27),
            tx('QUIT')]), SUMMARY])
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, 'session 192.168.0.4:26272 > 212.227.15.166:110 greeting=+OK\n'
                              '  CAPA "" -> +OK multiline octets=59 lines=12\n'
                              '  USER "someone" -> +OK\n'
                              '  RETR "1" -> +OK multiline octets=1317 lines=27\n'
                              '  QUIT "" -> +OK\n')

    def test_secrets(self):
        rc, out, err = run([sess(1, [
            tx('PASS', 'my pass word'),
            tx('pass', ''),
            tx('APOP', 'mrose c4c9334bac560ecc979e58001b3e22fb'),
            tx('APOP', 'mrose'),
            tx('AUTH', 'PLAIN dGVzdAB0ZXN0AHRlc3Q='),
            tx('AUTH', 'XOAUTH2', status='-ERR'),
            tx('AUTH', '', status='-ERR')]), SUMMARY])
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines()[1:], [
            '  PASS "<secret>" -> +OK',
            '  PASS "<secret>" -> +OK',
            '  APOP "mrose <secret>" -> +OK',
            '  APOP "mrose" -> +OK',
            '  AUTH "PLAIN <secret>" -> +OK',
            '  AUTH "XOAUTH2" -> -ERR',
            '  AUTH "" -> -ERR'])
        self.assertNotIn('c4c9334b', out)
        self.assertNotIn('word', out)

    def test_escaping_and_case(self):
        rc, out, err = run([sess(1, [
            tx('user', 'a"b\\c'),
            tx('xtnd', 'x\ty\x7f\u00e9\u20ac', status='-ERR')]), SUMMARY])
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines()[1:], [
            '  USER "a\\"b\\\\c" -> +OK',
            '  XTND "x\\x09y\\x7F\\xE9\\xE2\\x82\\xAC" -> -ERR'])

    def test_none_partial_unsolicited(self):
        rc, out, err = run([sess(1, [
            tx(None, '', status='+OK'),
            tx('LIST', status='+OK', multi=True, octets=0, lines=0, partial=True),
            tx('RETR', '2', status='+OK', multi=True, octets=1400, lines=20, partial=True),
            tx('QUIT', status=None, partial=True)], greeting=None), SUMMARY])
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, 'session 192.168.0.4:26272 > 212.227.15.166:110 greeting=none\n'
                              '  (none) -> +OK\n'
                              '  LIST "" -> +OK multiline octets=0 lines=0 partial\n'
                              '  RETR "2" -> +OK multiline octets=1400 lines=20 partial\n'
                              '  QUIT "" -> none\n')

    def test_protocols_order_ipv6(self):
        rc, out, err = run([
            sess(50, [], proto='not-pop3', greeting=None, cli=('127.0.0.1', 5), srv=('127.0.0.1', 110)),
            sess(7, [tx('STLS')], proto='tls'),
            sess(9, [], proto='pop3s', greeting=None, cli=('2001:db8::1', 4000), srv=('2001:db8::2', 995)),
            sess(3, [], greeting={'status': '-ERR', 'text': 'busy'}),
            SUMMARY])
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines(), [
            'session 192.168.0.4:26272 > 212.227.15.166:110 greeting=-ERR',
            'session 192.168.0.4:26272 > 212.227.15.166:110 greeting=+OK tls',
            '  STLS "" -> +OK',
            'session [2001:db8::1]:4000 > [2001:db8::2]:995 pop3s',
            'session 127.0.0.1:5 > 127.0.0.1:110 not-pop3'])

    def test_empty_capture(self):
        rc, out, err = run([SUMMARY])
        self.assertEqual((rc, out), (0, ''), err)

    def test_errors(self):
        bad_multi = tx('RETR', '1', multi=True, octets=5, lines=1)
        del bad_multi['body_lines']
        no_client = sess(1, [])
        del no_client['client']
        cases = [
            ([sess(1, [])], 'no {"type":"summary"}'),
            (['{not json'], 'not JSON'),
            ([{'session': 1}], 'missing key "type"'),
            ([no_client, SUMMARY], 'missing key "client"'),
            ([sess(1, [bad_multi]), SUMMARY], 'missing key "body_lines"'),
            ([sess(1, [tx('USER', 'x', status='OK')]), SUMMARY], 'status must be'),
            ([sess(1, [], proto='smtp'), SUMMARY], 'unknown protocol'),
            ([SUMMARY, sess(1, [])], 'after the summary'),
            ([{'type': 'banana'}], "unknown type 'banana'"),
        ]
        for lines, msg in cases:
            rc, out, err = run(lines)
            self.assertEqual(rc, 2, (lines, out))
            self.assertIn(msg, err)
            self.assertEqual(out, '')


if __name__ == '__main__':
    unittest.main()
