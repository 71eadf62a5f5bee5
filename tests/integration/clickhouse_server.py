"""A private ClickHouse server for the upstream tests and the bench (Debian's clickhouse-server).

    ch = ClickHouse(tmpdir)      # exits 77 with "SKIP: ..." when /usr/sbin/clickhouse-server is absent
    ch.start()                   # free ports, config in tmpdir, waits for SELECT 1
    ch.query("SELECT 1")         # HTTP POST with Basic auth; raises QueryError on a non-200
    ch.stop()                    # SIGTERM and wait; ch.kill() is SIGKILL; start() again reuses data

Everything (config, users, data, logs) lives under tmpdir; the server listens on 127.0.0.1 only
and has one user, `edgeid`, with a random password (ch.user, ch.password; ch.url is the HTTP
interface). As root the server runs as root (it accepts that); as another user, as that user.
"""
import base64
import hashlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

SERVER = "/usr/sbin/clickhouse-server"


class QueryError(Exception):
    pass


def skip(why):
    print("SKIP: " + why)
    sys.stdout.flush()
    sys.exit(77)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class ClickHouse:
    def __init__(self, tmpdir, user="edgeid", password=None, log_level="warning"):
        if not os.path.exists(SERVER):
            skip(SERVER + " is absent (Debian package clickhouse-server; scripts/setup installs it)")
        self.dir = os.path.join(tmpdir, "clickhouse")
        os.makedirs(self.dir, exist_ok=True)
        self.user = user
        self.log_level = log_level
        self.password = password or secrets.token_hex(12)
        self.http_port = None
        self.tcp_port = None
        self.proc = None
        self._write_users()

    @property
    def url(self):
        return "http://127.0.0.1:%d/" % self.http_port

    def _path(self, *parts):
        return os.path.join(self.dir, *parts)

    def _write_users(self):
        digest = hashlib.sha256(self.password.encode()).hexdigest()
        with open(self._path("users.xml"), "w") as f:
            f.write("""<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>1000000000</max_memory_usage></default></profiles>
  <users>
    <%(user)s>
      <password_sha256_hex>%(digest)s</password_sha256_hex>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile><quota>default</quota>
    </%(user)s>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
""" % {"user": self.user, "digest": digest})

    def _write_config(self):
        with open(self._path("config.xml"), "w") as f:
            f.write("""<?xml version="1.0"?>
<yandex>
  <logger><level>%(level)s</level><log>%(d)s/server.log</log><errorlog>%(d)s/error.log</errorlog>
    <console>0</console></logger>
  <http_port>%(http)d</http_port>
  <tcp_port>%(tcp)d</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>%(d)s/data/</path>
  <tmp_path>%(d)s/tmp/</tmp_path>
  <user_files_path>%(d)s/user_files/</user_files_path>
  <format_schema_path>%(d)s/format_schemas/</format_schema_path>
  <users_config>%(d)s/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_connections>64</max_connections>
  <keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>16</max_concurrent_queries>
</yandex>
""" % {"d": self.dir, "http": self.http_port, "tcp": self.tcp_port, "level": self.log_level})

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=60):
        """Starts the server (the same ports again after a stop) and waits until it answers."""
        if self.running():
            return
        if self.http_port is None:
            self.http_port = free_port()
            self.tcp_port = free_port()
            while self.tcp_port == self.http_port:
                self.tcp_port = free_port()
        self._write_config()
        self.log = open(self._path("stdout.log"), "ab")
        self.proc = subprocess.Popen([SERVER, "--config-file=" + self._path("config.xml")],
                                     stdout=self.log, stderr=self.log, cwd=self.dir,
                                     start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("clickhouse-server exited with %d:\n%s"
                                   % (self.proc.returncode, self.tail()))
            try:
                if self.query("SELECT 1", timeout=2).strip() == "1":
                    return
            except (OSError, QueryError):
                pass
            time.sleep(0.2)
        self.kill()
        raise RuntimeError("clickhouse-server did not answer within %d s:\n%s"
                           % (timeout, self.tail()))

    def tail(self, n=20):
        out = []
        for name in ("stdout.log", "error.log"):
            try:
                with open(self._path(name), errors="replace") as f:
                    out += f.read().splitlines()[-n:]
            except OSError:
                pass
        return "\n".join(out)

    def _ended(self):
        self.proc = None
        self.log.close()

    def stop(self, timeout=30):
        """SIGTERM and wait (SIGKILL after @p timeout)."""
        if not self.running():
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._ended()

    def kill(self):
        if not self.running():
            return
        self.proc.kill()
        self.proc.wait(timeout=10)
        self._ended()

    def query(self, sql, timeout=60, settings=None):
        """The answer's text (TabSeparated unless @p sql says FORMAT); QueryError on non-200.
        @p settings: query-level settings, e.g. {"optimize_throw_if_noop": 1}."""
        auth = base64.b64encode(("%s:%s" % (self.user, self.password)).encode()).decode()
        url = self.url
        if settings:
            url += "?" + urllib.parse.urlencode(settings)
        request = urllib.request.Request(url, data=sql.encode(), method="POST",
                                         headers={"Authorization": "Basic " + auth})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return answer.read().decode()
        except urllib.error.HTTPError as e:
            body = e.read().decode(errors="replace")
            raise QueryError("%d %s: %s -- %s" % (e.code, e.reason, sql[:200], body[:500]))

    def scalar(self, sql):
        return int(self.query(sql).strip())


def _main(argv):
    """For shell scripts (bench/upstream_clickhouse.sh):
         clickhouse_server.py start DIR   starts a server under DIR, prints `URL USER PASSWORD PID`
                                          and leaves it running (exit 77 when it is absent)
         clickhouse_server.py stop DIR    SIGTERM to that server, SIGKILL after 30 s
    """
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        print("usage: clickhouse_server.py start|stop DIR", file=sys.stderr)
        return 2
    pid_file = os.path.join(argv[2], "clickhouse", "server.pid")
    if argv[1] == "start":
        ch = ClickHouse(argv[2])
        ch.start()
        with open(pid_file, "w") as f:
            f.write("%d\n" % ch.proc.pid)
        print(ch.url, ch.user, ch.password, ch.proc.pid)
        return 0
    try:
        with open(pid_file) as f:
            pid = int(f.read())
    except OSError:
        return 0
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + 30
        while time.time() < deadline and os.path.exists("/proc/%d" % pid):
            time.sleep(0.1)
        if os.path.exists("/proc/%d" % pid):
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.unlink(pid_file)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
