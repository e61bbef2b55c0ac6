"""`crisismon run` refuses a web port another server listens on, not one a crash left behind."""

from __future__ import annotations

import socket

import pytest

from monitor.shell.service import ServiceError, _check_port_free


def _listener() -> socket.socket:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    return server


def test_a_port_in_time_wait_is_free_for_a_restart():
    server = _listener()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first: its end of the connection stays in TIME_WAIT
    client.close()
    server.close()
    _check_port_free(port)


def test_a_port_another_server_listens_on_is_one_readable_line():
    server = _listener()
    port = server.getsockname()[1]
    try:
        with pytest.raises(ServiceError, match=f"web port {port} is in use"):
            _check_port_free(port)
    finally:
        server.close()
