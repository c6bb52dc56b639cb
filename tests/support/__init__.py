"""tutornb's one test harness: the pytest plugin (``plugin``: isolation, the browser, the in-process
server's fixtures) and the helpers every level suite and the ``bench/`` scripts share: the live
server launcher (``live_server``, with ``free_port``), JupyterLab in a browser (``lab``), a chat
client (``chat_client``), a loopback OpenAI-protocol server (``model_server``), the header identity
provider (``header_identity``), the in-process server's ``Fetch``/``Chat`` (``server_helpers``), the
store's crash harness (``store_harness``) and the hostile-input tools (``hostile_*``, ``frame_storm``,
``fuzz_api``, ``server_kill``, ``xss_browser``, ``big_store``, ``security_helpers``).

Imported as ``tests.support`` from the repository's root (pytest puts the root on ``sys.path``
through the root ``conftest.py``; bench scripts run as ``python -m bench.NAME``).
"""
