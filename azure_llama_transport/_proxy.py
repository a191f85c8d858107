"""The proxy the environment names for an endpoint, read with the standard library only.

Read once when a pool is built, for the one endpoint the pool serves (the client never follows
redirects, so it never talks to another host): `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` and
`NO_PROXY`, lower or upper case, as httpx and aiohttp read them (both through `urllib.request`).
Both default paths (sync httpcore, async aiohttp) use this one reading. The caller decides
whether the environment is read at all (`ClientConfig.proxies_from_env`: never for plain http,
accepted only to loopback, where a proxy would see the key in clear).
"""

from __future__ import annotations

import urllib.request

import httpx

__all__ = ["env_proxy"]


def env_proxy(endpoint: str) -> str | None:
    """The proxy URL the environment names for `endpoint`, or None (none set, or `NO_PROXY`)."""
    proxies = urllib.request.getproxies_environment()
    url = httpx.URL(endpoint)
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy:
        return None
    if _bypassed(url, proxies.get("no", "")):
        return None
    # httpx's rule: a proxy given without a scheme is an http:// one.
    return proxy if "://" in proxy else f"http://{proxy}"


def _bypassed(url: httpx.URL, no_proxy: str) -> bool:
    """`NO_PROXY` as urllib reads it: `*`, or hosts and domain suffixes, a port optional
    (`example.com` and `.example.com` both cover `api.example.com`)."""
    host = url.host.lower()
    port = str(url.port or {"https": 443, "http": 80}.get(url.scheme) or "")
    for entry in (item.strip().lower() for item in no_proxy.split(",")):
        if entry == "*":
            return True
        name, _, wanted = entry.partition(":") if not entry.startswith("[") else (entry, "", "")
        name = name.lstrip(".").strip("[]")
        if not name or (wanted and wanted != port):
            continue
        if host == name or host.endswith("." + name):
            return True
    return False
