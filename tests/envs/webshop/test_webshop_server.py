"""The human-facing shop: routes, escaping, binding, and a whole purchase through a real browser."""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import struct
import tempfile
import threading
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from vlgym.envs.webshop.browser import start_chromium, stop_chromium
from vlgym.envs.webshop.server import make_server


@contextlib.contextmanager
def serving(**kwargs):
    server = make_server(port=0, seed=0, num_products=300, **kwargs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        server.RequestHandlerClass.shop.env.close()


@pytest.fixture(scope="module")
def server():
    with serving() as server:
        yield server


def get(server, path):
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.getheader("Location"), response.read().decode()


def test_binds_to_localhost_by_default(server):
    assert server.server_address[0] == "127.0.0.1"


@pytest.mark.parametrize("path", ["/nope", "/click", "/click/a/b", "/%ff%fe/..", "//etc/passwd", "/search/x",
                                  "/click/" + "a" * 5000 + "/x"])
def test_malformed_urls_give_404_pages(server, path):
    status, _, body = get(server, path)
    assert status == 404 and "Traceback" not in body and "<h1>404</h1>" in body


def test_unavailable_actions_change_nothing(server):
    _, _, before = get(server, "/")
    status, location, _ = get(server, "/click/buy%20now")  # not on the search page
    assert (status, location) == (303, "/")
    assert get(server, "/")[2] == before


def test_a_script_in_a_search_is_escaped(server):
    get(server, "/new")
    status, location, _ = get(server, "/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert (status, location) == (303, "/")
    _, _, page = get(server, "/")
    assert "<title>WebShop: &lt;script&gt;alert(1)&lt;/script&gt;</title>" in page
    assert "<script>" not in page
    get(server, "/click/back%20to%20search")


def silent_clients(server) -> list[socket.socket]:
    """A client that connected and sent nothing, and one that sent half a request."""
    idle = socket.create_connection(server.server_address[:2])
    half = socket.create_connection(server.server_address[:2])
    half.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    return [idle, half]


def test_silent_connections_hold_up_no_one(server):
    clients = silent_clients(server)  # open for the whole test, far within the server's 30 s timeout
    try:
        for path in ("/", "/new", "/"):
            assert get(server, path)[0] in (200, 303)  # would wait for the silent clients (timeout: 10 s)
    finally:
        for client in clients:
            client.close()


def test_a_silent_connection_is_dropped_after_the_timeout():
    with serving(timeout=0.5) as server:
        for client in silent_clients(server):
            client.settimeout(10)
            assert client.recv(1024) == b""  # closed by the server
            client.close()


def test_a_client_that_leaves_before_its_answer_is_no_error(server, capfd, caplog):
    """A closed tab or a cancelled load: the answer meets a reset connection. Nothing to answer, nothing to log."""
    with server.RequestHandlerClass.lock:  # the request is read, then waits here for its turn
        client = socket.create_connection(server.server_address[:2])
        client.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        time.sleep(0.3)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()  # with a reset: the answer's first write fails
    deadline = time.monotonic() + 10  # until the server's connection threads (named after their target) are done
    while any("process_request" in t.name for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "Traceback" not in capfd.readouterr().err
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert get(server, "/")[0] == 200


def load_next_page(driver, element) -> None:
    """Click ``element`` and wait until the browser shows the page the click leads to (a click does not wait
    for the navigation it starts)."""
    old = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 10).until(expected_conditions.staleness_of(old))


def test_a_person_buys_the_goal_product_in_a_browser(server):
    """Selenium drives the served shop like a person: type the query, page through the results, open the
    product, pick the options, buy. The expert only says which link to click next."""
    shop = server.RequestHandlerClass.shop
    get(server, "/new")
    with tempfile.TemporaryDirectory() as profile:
        driver = start_chromium(profile)
        try:
            driver.get(f"http://127.0.0.1:{server.server_address[1]}/")
            box = driver.find_element(By.ID, "search_input")
            box.send_keys(shop.env.expert_action()[len("search["):-1])
            load_next_page(driver, driver.find_element(By.CSS_SELECTOR, "form button"))
            for _ in range(20):
                if "Thank you for shopping with us!" in driver.page_source:
                    break
                target = shop.env.expert_action()[len("click["):-1]
                links = [a for a in driver.find_elements(By.TAG_NAME, "a") if a.text.lower() == target]
                assert links, f"no link {target!r} on the page"
                load_next_page(driver, links[0])
            assert driver.find_element(By.CLASS_NAME, "thanks").text == "Thank you for shopping with us!"
            assert driver.find_element(By.CLASS_NAME, "score").text == "1.0"
        finally:
            stop_chromium(driver, profile)
    assert shop.env.site.purchase.reward.reward == 1.0
