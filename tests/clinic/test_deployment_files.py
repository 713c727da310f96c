"""The compose file holds together where no Docker engine runs to try it.

``docker-compose config`` (in ``make lint``) checks the schema but, like plain YAML loaders, lets
a repeated key silently replace the first one, which once dropped the web service's wait for
PostgreSQL. These checks read the file strictly and follow its references.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker" / "docker-compose.yml"


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)  # resolves the `<<:` merges first, which may repeat keys
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} given twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.load(COMPOSE.read_text(), Loader=_StrictLoader)  # noqa: S506 - strict safe loader


def test_the_strict_loader_refuses_a_repeated_key() -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match="given twice"):
        yaml.load("web:\n  depends_on: [a]\n  depends_on: [b]\n", Loader=_StrictLoader)  # noqa: S506


def test_services_depend_on_services_that_exist(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        depends = service.get("depends_on", [])
        assert set(depends) <= set(services), f"{name} depends on {set(depends) - set(services)}"
    web = services["web"]["depends_on"]
    assert web["postgres"]["condition"] == "service_healthy"
    assert web["redis"]["condition"] == "service_healthy"


def test_images_are_pinned_and_volumes_declared(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    for name, service in compose["services"].items():
        if "image" in service:
            assert re.search(r":\d+\.\d+", service["image"]), f"{name}: {service['image']} unpinned"
        else:
            assert Path(COMPOSE.parent, service["build"]["context"]).is_dir()
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name} mounts undeclared volume {source}"


def test_the_app_services_run_production_settings_with_their_keys(compose: dict[str, Any]) -> None:
    for name in ("web", "worker-cpu", "worker-gpu", "beat"):
        environment = compose["services"][name]["environment"]
        assert environment["DJANGO_SETTINGS_MODULE"] == "clinic.settings.production"
        for key in ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "BONEAGE_IDENTIFIER_KEY"):
            assert environment.get(key), f"{name} lacks {key}"
        assert environment["BONEAGE_IDENTIFIER_KEY"] != environment["DJANGO_SECRET_KEY"]


def test_redis_keeps_its_queue_across_a_restart(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert any(volume.endswith(":/data") for volume in redis["volumes"])
