"""Running the collection: uvicorn on localhost (or a LAN address when asked), logs without tokens.

Why these uvicorn settings: its access log prints every request path, and a path here carries a link
token, so it is off and :class:`gxsheet.serve.security.Guard` logs a redacted line instead; the
``Server`` header is dropped; ``proxy_headers`` is off (nothing in front of us is trusted to name
the client). Plain HTTP on a LAN address works but says, on one line, that links can be read
off the network; with ``--certfile/--keyfile`` uvicorn serves HTTPS.
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gxsheet.core.limits import Limits

__all__ = ["is_loopback", "lan_warning", "log_config", "serve"]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def lan_warning(host: str, tls: bool, lang: str = "zh") -> str | None:
    """The one line printed when links would travel unencrypted over a network, else None."""
    if is_loopback(host) or tls:
        return None
    if lang == "en":
        return ("warning: serving plain HTTP on a network address: links and files can be read off the network; "
                "add --certfile/--keyfile for HTTPS.")
    return ("警告：正以未加密的 HTTP 在局域网地址上提供服务，同一网络中的人可能截获上传链接和文件；"
            "建议加 --certfile/--keyfile 启用 HTTPS。")


def log_config() -> dict[str, Any]:
    """Logging for uvicorn and the app: one plain line per event on stderr, uvicorn's access log silenced."""
    fmt = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s", "datefmt": "%Y-%m-%d %H:%M:%S"}
    handler = {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"plain": fmt},
        "handlers": {"stderr": handler},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
            "gxsheet.serve": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        },
    }


def serve(root: str | Path, *, host: str = "127.0.0.1", port: int = 8000, certfile: str | None = None,
          keyfile: str | None = None, jobs: int | None = None, timeout: float = 60.0,
          limits: Limits | None = None, lang: str = "zh") -> int:
    """Serve the collection in ``root`` until stopped (Ctrl+C / SIGTERM)."""
    import uvicorn

    from gxsheet.core.limits import DEFAULT_LIMITS
    from gxsheet.serve.app import Settings, create_app
    from gxsheet.serve.store import Store

    store = Store.open(root)  # fails here, in one line, when the folder is not a collection
    county, year = store.county, store.year
    store.close()
    limits = limits or DEFAULT_LIMITS
    tls = bool(certfile and keyfile)
    scheme = "https" if tls else "http"
    shown = f"[{host}]" if ":" in host else host
    en = lang == "en"
    warning = lan_warning(host, tls, lang)
    if warning:
        print(warning, file=sys.stderr)
    print(f"gxsheet serve：{county} {year}年度年报收集，地址 {scheme}://{shown}:{port}/（数据文件夹 {root}）；"
          "各单位链接见数据文件夹中的 上传链接.xlsx；按 Ctrl+C 停止。" if not en else
          f"gxsheet serve: collecting {county}'s {year} reports at {scheme}://{shown}:{port}/ (data folder {root}); "
          "links are in 上传链接.xlsx there; Ctrl+C stops.", file=sys.stderr, flush=True)
    app = create_app(Settings(root=Path(root), jobs=jobs, timeout=timeout, limits=limits))
    config = uvicorn.Config(app, host=host, port=port, ssl_certfile=certfile, ssl_keyfile=keyfile,
                            log_config=log_config(), access_log=False, server_header=False, proxy_headers=False,
                            timeout_keep_alive=5, limit_concurrency=256, lifespan="on")
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 2
