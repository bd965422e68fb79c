# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connect-time sampler for the rotation-under-load suite.

Run as the client's OS user (libpq then uses ~/.postgresql/root.crt, postgresql.crt and
postgresql.key, the files the client role manages). One thread per host opens a new
sslmode=verify-full connection, runs SELECT 1 and closes it, over and over, and appends one
line per connection to OUT: "epoch_seconds host connect_ms ok|fail reason". It stops when the
STOP file appears.

    sampler.py OUT STOP host=addr [host=addr ...]
"""

import os
import sys
import threading
import time

import psycopg


def sample(host, addr, out, lock, stop):
    while not os.path.exists(stop):
        start = time.time()
        began = time.perf_counter()
        try:
            with psycopg.connect(
                host=host, hostaddr=addr, dbname='postgres', sslmode='verify-full', connect_timeout=10
            ) as conn:
                elapsed = (time.perf_counter() - began) * 1000.0
                conn.execute('SELECT 1')
            line = '%.6f %s %.3f ok -\n' % (start, host, elapsed)
        except psycopg.Error as exc:
            elapsed = (time.perf_counter() - began) * 1000.0
            reason = ' '.join(str(exc).split())[:200] or exc.__class__.__name__
            line = '%.6f %s %.3f fail %s\n' % (start, host, elapsed, reason)
        with lock:
            out.write(line)
            out.flush()


def main(argv):
    out_path, stop = argv[0], argv[1]
    lock = threading.Lock()
    with open(out_path, 'a') as out:
        threads = []
        for spec in argv[2:]:
            host, addr = spec.split('=', 1)
            t = threading.Thread(target=sample, args=(host, addr, out, lock, stop))
            t.start()
            threads.append(t)
        for t in threads:
            t.join()


if __name__ == '__main__':
    main(sys.argv[1:])
