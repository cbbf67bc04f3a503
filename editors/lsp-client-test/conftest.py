"""Fixtures: the `rbk lsp` binary under test (RBK_BIN), a project directory with runbooks, and
a pytest-lsp client connected to the server over stdio."""

from __future__ import annotations

import asyncio
import os
import pathlib
import shutil

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

REPO = pathlib.Path(__file__).resolve().parents[2]
RBK_BIN = os.environ.get("RBK_BIN", "")


def pytest_configure(config):
    if not RBK_BIN:
        raise pytest.UsageError(
            "RBK_BIN is not set: point it at the rbk binary (cargo test sets it; by hand: "
            "cargo build && RBK_BIN=target/debug/rbk python -m pytest editors/lsp-client-test)"
        )
    if not os.access(RBK_BIN, os.X_OK):
        raise pytest.UsageError(f"RBK_BIN={RBK_BIN} is not an executable file")


class Published:
    """Every textDocument/publishDiagnostics the server sent, waited on by URI and version
    (pytest-lsp's own handler keeps only the latest list per URI, without its version)."""

    def __init__(self) -> None:
        self.received: list[types.PublishDiagnosticsParams] = []
        self.arrived = asyncio.Condition()

    async def record(self, params: types.PublishDiagnosticsParams) -> None:
        async with self.arrived:
            self.received.append(params)
            self.arrived.notify_all()

    async def wait(self, uri: str, version: int) -> list[types.Diagnostic]:
        """The diagnostics published for `version` of `uri`, once they have arrived."""

        def find():
            return next(
                (p for p in self.received if p.uri == uri and p.version == version), None
            )

        async with self.arrived:
            params = await self.arrived.wait_for(find)
        return list(params.diagnostics)


def make_client() -> LanguageClient:
    """pytest-lsp's test client with its stock handlers, except publishDiagnostics, which
    also records each notification's version."""
    client = LanguageClient(converter_factory=default_converter)
    client.published = Published()

    async def publish_diagnostics(
        client: LanguageClient, params: types.PublishDiagnosticsParams
    ):
        client.diagnostics[params.uri] = params.diagnostics
        await client.published.record(params)

    features = dict(DEFAULT_CLIENT_FEATURES)
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = publish_diagnostics
    register_lsp_features(client, features)
    return client


@pytest.fixture
def workdir(tmp_path: pathlib.Path) -> pathlib.Path:
    """A project directory: the seed runbook with examples/rbk.toml, and the E0301 fixture
    with its rbk.toml in e0301/."""
    shutil.copy(REPO / "examples" / "db_pool_exhaustion.rbk", tmp_path)
    shutil.copy(REPO / "examples" / "rbk.toml", tmp_path)
    fixtures = tmp_path / "e0301"
    fixtures.mkdir()
    shutil.copy(REPO / "tests" / "fixtures" / "diagnostics" / "E0301.rbk", fixtures)
    shutil.copy(REPO / "tests" / "fixtures" / "diagnostics" / "rbk.toml", fixtures)
    return tmp_path


# Capabilities pytest-lsp ships for real editors. pytest-lsp checks every answer against the
# capabilities the client announced, so each test runs once as each editor.
EDITORS = ["visual-studio-code", "neovim"]


@pytest_lsp.fixture(
    params=EDITORS,
    config=ClientServerConfig(server_command=[RBK_BIN, "lsp"], client_factory=make_client),
)
async def client(request, lsp_client: LanguageClient, workdir: pathlib.Path):
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=pytest_lsp.client_capabilities(request.param),
            root_uri=workdir.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=workdir.as_uri(), name="work")],
        )
    )
    yield
    await lsp_client.shutdown_session()
