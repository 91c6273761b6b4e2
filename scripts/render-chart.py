#!/usr/bin/env python3
"""Lints and renders a Helm chart with the Helm library (helm-python-sdk), for the tests.

Reads one JSON request on standard input:
  {"chart": PATH, "values": {...}, "release": NAME, "namespace": NS}
and writes one JSON answer on standard output:
  {"ok": true, "lint": {...}, "manifests": {TEMPLATE_PATH: TEXT, ...}}
or, when Helm refuses the values or a template fails:
  {"ok": false, "error": KIND, "message": TEXT}
"""

import json
import sys

try:
    import helm_python as helm
except ImportError as missing:
    sys.exit(f"render-chart: the Helm library is missing ({missing}); install requirements-test.txt "
             "(scripts/test does it in .venv)")


def main() -> None:
    helm.disable_logging()
    request = json.load(sys.stdin)
    chart_path = request["chart"]
    values = request.get("values") or {}
    release = request.get("release", "driftwarden")
    namespace = request.get("namespace", "driftwarden-system")
    try:
        lint = helm.lint(chart_path, values, strict=True, namespace=namespace)
        with helm.Chart.load(chart_path) as chart:
            manifests = chart.render(values=values, name=release, namespace=namespace, is_install=True)
    except helm.HelmError as error:
        json.dump({"ok": False, "error": type(error).__name__, "message": str(error)}, sys.stdout)
        return
    json.dump({"ok": True, "lint": lint, "manifests": manifests}, sys.stdout)


if __name__ == "__main__":
    main()
