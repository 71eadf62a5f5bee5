"""The agent's control protocol from Python, for the integration tests and the bench scripts:
one JSON request per connection, newline-terminated, the answer read until EOF (DESIGN.md §6)."""
import json
import socket


def request(sock, command, arguments=None, timeout=20):
    """The parsed answer, or None when nobody answers or the answer is not JSON."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock)
        payload = {"command": command}
        if arguments:
            payload["arguments"] = arguments
        s.sendall((json.dumps(payload) + "\n").encode())
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            data += chunk
    except OSError:
        return None
    finally:
        s.close()
    try:
        return json.loads(data.decode())
    except ValueError:
        return None
