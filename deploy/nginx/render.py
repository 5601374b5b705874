"""Render the nginx configuration of the app from site.conf.j2 (beside this file).

    # production: the site file for /etc/nginx/sites-enabled/ (docs/deployment.md)
    python deploy/nginx/render.py --upstream 10.0.0.11:8000 --upstream 10.0.0.12:8000 \\
        --listen 443 --server-name xue.example.com --static-root /srv/app/static \\
        --tls-certificate /etc/ssl/xue.pem --tls-certificate-key /etc/ssl/xue.key \\
        --media-cache /var/cache/nginx/media > /etc/nginx/sites-enabled/app.conf
    # the local cluster (scripts/cluster.sh): a whole nginx.conf, everything under --prefix
    python deploy/nginx/render.py --upstream 127.0.0.1:8081 --upstream 127.0.0.1:8082 \\
        --listen 127.0.0.1:8080 --prefix instance/cluster/nginx --log-dir instance/cluster/logs

The upload limit comes from the app's own setting (config.py MAX_CONTENT_LENGTH, which the
environment may change), so nginx and the app refuse the same bodies.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jinja2

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from config import Config  # noqa: E402  (the repository's config.py)


def render(args: argparse.Namespace) -> str:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE), undefined=jinja2.StrictUndefined,
                                     keep_trailing_newline=True)
    site = environment.get_template("site.conf.j2").render(
        upstreams=args.upstream, listen=args.listen, http_listen=args.http_listen, server_name=args.server_name,
        static_root=Path(args.static_root).resolve(), max_body_bytes=Config.MAX_CONTENT_LENGTH,
        media_cache=args.media_cache and Path(args.media_cache).resolve(),
        tls_certificate=args.tls_certificate, tls_certificate_key=args.tls_certificate_key,
    )
    if not args.prefix:
        return site
    return environment.get_template("cluster.conf.j2").render(
        site=site, prefix=Path(args.prefix).resolve(), log_dir=Path(args.log_dir or args.prefix).resolve(),
        mime_types=args.mime_types,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", action="append", required=True, help="an app instance, host:port (repeat)")
    parser.add_argument("--listen", default="80", help="nginx's listen address (443 with --tls-certificate)")
    parser.add_argument("--http-listen", default="80", help="with TLS: where plain http is redirected from")
    parser.add_argument("--server-name", default="_")
    parser.add_argument("--static-root", default=str(ROOT / "static"), help="the repository's static/ folder")
    parser.add_argument("--media-cache", help="a folder where nginx keeps uploaded images (none: not kept)")
    parser.add_argument("--tls-certificate")
    parser.add_argument("--tls-certificate-key")
    parser.add_argument("--prefix", help="render a whole nginx.conf whose pid and temporary files live here")
    parser.add_argument("--log-dir", help="with --prefix: where the logs go (default: the prefix)")
    parser.add_argument("--mime-types", default="/etc/nginx/mime.types", help="with --prefix: nginx's mime.types")
    parser.add_argument("--out", help="write here instead of standard output")
    args = parser.parse_args()
    if bool(args.tls_certificate) != bool(args.tls_certificate_key):
        parser.error("--tls-certificate and --tls-certificate-key go together")
    text = render(args)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
