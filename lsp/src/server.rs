//! The `LanguageServer` implementation: keeps the open buffers, checks each one on open and on
//! change, and answers requests from the latest check (references and rename of names other
//! files use: from a check of the project's files that mention them).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer};

use crate::documents::{self, document_path, Checked, Document};
use crate::workspace;
use crate::{
    actions, completion, convert, definition, formatting, hover, references, rename, std_sources,
    symbols,
};
use rbk_compiler::resolve::ModuleOrigin;
use rbk_compiler::syntax::ParseCache;

/// An open buffer and its latest check.
struct Open {
    document: Document,
    checked: Option<Arc<Checked>>,
}

pub struct Backend {
    client: Client,
    open: Mutex<HashMap<Uri, Open>>,
    /// Parsed items of recent checks: an edit re-parses only the item it touched. Shared with
    /// the blocking task a check runs on.
    parses: Arc<Mutex<ParseCache>>,
}

/// Above this size a document gets diagnostics only: semantic tokens, folding ranges, symbols
/// and inlay hints walk the whole text or tree on every request, and on a document of
/// megabytes each would keep the server busy for seconds.
pub const LARGE_DOCUMENT_BYTES: usize = 1 << 20;

impl Backend {
    pub fn new(client: Client) -> Self {
        Backend {
            client,
            open: Mutex::new(HashMap::new()),
            parses: Arc::new(Mutex::new(ParseCache::new())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uri, Open>> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn checked(&self, uri: &Uri) -> Option<Arc<Checked>> {
        self.lock().get(uri).and_then(|open| open.checked.clone())
    }

    fn text(&self, uri: &Uri) -> Option<String> {
        self.lock().get(uri).map(|open| open.document.text.clone())
    }

    /// Every open buffer's text by the path it stands for.
    fn buffers(&self) -> HashMap<PathBuf, String> {
        self.lock()
            .iter()
            .map(|(uri, open)| (document_path(uri), open.document.text.clone()))
            .collect()
    }

    /// The URI of the file at `path`: the editor's own for an open buffer (so edits land in
    /// it), else a `file://` URI.
    fn uri_for(&self, path: &Path) -> Option<Uri> {
        let open = self.lock();
        match open.keys().find(|uri| document_path(uri) == path) {
            Some(uri) => Some(uri.clone()),
            None => Uri::from_file_path(path),
        }
    }

    /// The buffer's current text and the byte offset of `position` in it.
    fn text_at(&self, uri: &Uri, position: Position) -> Option<(String, usize)> {
        let text = self.text(uri)?;
        let lines = rbk_compiler::diagnostics::LineIndex::new(&text);
        let offset = convert::SourceText {
            text: &text,
            lines: &lines,
        }
        .offset(position);
        Some((text, offset))
    }

    /// The latest check of the document and the byte offset of the position in it.
    fn checked_at(&self, at: &TextDocumentPositionParams) -> Option<(Arc<Checked>, usize)> {
        let checked = self.checked(&at.text_document.uri)?;
        let offset = checked.source().offset(at.position);
        Some((checked, offset))
    }

    /// The text the latest check saw (so the tree's spans fit it) with that check; the raw
    /// buffer alone if the check failed.
    fn text_and_check(&self, uri: &Uri) -> Option<(String, Option<Arc<Checked>>)> {
        let checked = self.checked(uri);
        let text = checked
            .as_ref()
            .map(|c| c.text().to_string())
            .or_else(|| self.text(uri))?;
        Some((text, checked))
    }

    /// Stores the new text of a document, before it is checked: later changes apply to it.
    fn store(&self, uri: &Uri, text: String, version: i32) {
        let mut open = self.lock();
        match open.get_mut(uri) {
            Some(current) => current.document = Document { text, version },
            None => {
                open.insert(
                    uri.clone(),
                    Open {
                        document: Document { text, version },
                        checked: None,
                    },
                );
            }
        }
    }

    /// Checks the document's text at `version` and publishes its diagnostics.
    async fn update(&self, uri: Uri, text: String, version: i32) {
        let others: HashMap<_, _> = self
            .lock()
            .iter()
            .filter(|(u, _)| **u != uri)
            .map(|(u, open)| (document_path(u), open.document.text.clone()))
            .collect();
        if self.is_stale(&uri, version) {
            return;
        }
        // The check runs on the blocking pool: however long a huge document takes, the server
        // keeps reading messages and answers `shutdown` and `exit` meanwhile.
        let parses = Arc::clone(&self.parses);
        let path = document_path(&uri);
        let check = tokio::task::spawn_blocking(move || {
            let mut parses = parses
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            Checked::with_cache(path, text, others, &mut parses).map(Arc::new)
        });
        let checked = check.await.ok().flatten();
        // The check it replaces is dropped after the diagnostics are out: freeing a large
        // tree takes time the user would wait for.
        let _previous = {
            let mut open = self.lock();
            match open.get_mut(&uri) {
                // Closed meanwhile, or a newer version arrived while this one was checked.
                None => return,
                Some(current) if current.document.version > version => return,
                Some(current) => std::mem::replace(&mut current.checked, checked.clone()),
            }
        };
        let Some(checked) = checked else {
            self.client
                .log_message(
                    MessageType::ERROR,
                    format!(
                        "rbk: internal error while checking {}; please report it with the file",
                        uri.as_str()
                    ),
                )
                .await;
            self.client
                .publish_diagnostics(uri, Vec::new(), Some(version))
                .await;
            return;
        };
        let source = checked.source();
        let diagnostics = checked
            .own_diagnostics()
            .map(|d| convert::diagnostic(&source, &uri, d))
            .collect();
        self.client
            .publish_diagnostics(uri, diagnostics, Some(version))
            .await;
    }

    /// Whether a newer version of the document arrived (or it was closed): checking this one
    /// would be wasted work.
    fn is_stale(&self, uri: &Uri, version: i32) -> bool {
        self.lock()
            .get(uri)
            .is_none_or(|open| open.document.version > version)
    }

    /// Whether the document is too large for the features that walk all of it per request.
    fn is_large(&self, uri: &Uri) -> bool {
        self.lock()
            .get(uri)
            .is_some_and(|open| open.document.text.len() > LARGE_DOCUMENT_BYTES)
    }

    /// Re-checks the other open documents that use the file at `uri`, so they see its new text
    /// (or, once it is closed, the text on disk).
    async fn recheck_users_of(&self, uri: &Uri) {
        let path = document_path(uri);
        let users: Vec<(Uri, String, i32)> = self
            .lock()
            .iter()
            .filter(|(other, _)| *other != uri)
            .filter(|(_, open)| open.checked.as_ref().is_some_and(|c| c.uses_file(&path)))
            .map(|(other, open)| {
                (
                    other.clone(),
                    open.document.text.clone(),
                    open.document.version,
                )
            })
            .collect();
        for (user, text, version) in users {
            self.update(user, text, version).await;
        }
    }

    fn location(
        &self,
        uri: &Uri,
        checked: &Checked,
        module: rbk_compiler::resolve::ModuleId,
        span: rbk_compiler::syntax::Span,
    ) -> Option<Location> {
        let range = checked.source_of(module).range(span);
        if module == checked.root {
            return Some(Location::new(uri.clone(), range));
        }
        let m = checked.analysis.module(module);
        let uri = match &m.origin {
            ModuleOrigin::Std(name) => Uri::from_file_path(std_sources::std_file(name)?)?,
            ModuleOrigin::File(_) => self.uri_for(&checked.analysis.file(m.file).path)?,
        };
        Some(Location::new(uri, range))
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, _: InitializeParams) -> Result<InitializeResult> {
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                text_document_sync: Some(TextDocumentSyncCapability::Kind(
                    TextDocumentSyncKind::INCREMENTAL,
                )),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some([".", "(", ",", "\""].map(String::from).to_vec()),
                    ..Default::default()
                }),
                definition_provider: Some(OneOf::Left(true)),
                references_provider: Some(OneOf::Left(true)),
                rename_provider: Some(OneOf::Right(RenameOptions {
                    prepare_provider: Some(true),
                    work_done_progress_options: Default::default(),
                })),
                document_symbol_provider: Some(OneOf::Left(true)),
                document_formatting_provider: Some(OneOf::Left(true)),
                code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
                inlay_hint_provider: Some(OneOf::Left(true)),
                semantic_tokens_provider: Some(
                    SemanticTokensOptions {
                        legend: crate::semantic_tokens::legend(),
                        full: Some(SemanticTokensFullOptions::Bool(true)),
                        ..Default::default()
                    }
                    .into(),
                ),
                folding_range_provider: Some(FoldingRangeProviderCapability::Simple(true)),
                ..Default::default()
            },
            server_info: Some(ServerInfo {
                name: "rbk".to_string(),
                version: Some(env!("CARGO_PKG_VERSION").to_string()),
            }),
            ..Default::default()
        })
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let doc = params.text_document;
        self.store(&doc.uri, doc.text.clone(), doc.version);
        self.update(doc.uri.clone(), doc.text, doc.version).await;
        self.recheck_users_of(&doc.uri).await;
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let doc = params.text_document;
        // Applied before anything is awaited, so changes apply in the order they arrive.
        let text = {
            let mut open = self.lock();
            let Some(current) = open.get_mut(&doc.uri) else {
                return;
            };
            documents::apply_changes(&mut current.document.text, params.content_changes);
            current.document.version = doc.version;
            current.document.text.clone()
        };
        self.update(doc.uri.clone(), text, doc.version).await;
        self.recheck_users_of(&doc.uri).await;
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        self.lock().remove(&uri);
        self.client
            .publish_diagnostics(uri.clone(), Vec::new(), None)
            .await;
        self.recheck_users_of(&uri).await;
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let Some((checked, offset)) = self.checked_at(&params.text_document_position_params) else {
            return Ok(None);
        };
        let source = checked.source();
        Ok(hover::hover(&checked, offset).map(|(text, span)| Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: text,
            }),
            range: Some(source.range(span)),
        }))
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let position = params.text_document_position;
        let uri = &position.text_document.uri;
        let (Some(text), checked) = (self.text(uri), self.checked(uri)) else {
            return Ok(None);
        };
        let lines = rbk_compiler::diagnostics::LineIndex::new(&text);
        let source = convert::SourceText {
            text: &text,
            lines: &lines,
        };
        let offset = source.offset(position.position);
        let items = completion::complete(checked.as_deref(), &text, offset);
        Ok(Some(CompletionResponse::Array(items)))
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        let position = params.text_document_position_params;
        let uri = &position.text_document.uri;
        let Some((checked, offset)) = self.checked_at(&position) else {
            return Ok(None);
        };
        Ok(definition::definition(&checked, offset)
            .and_then(|(module, span)| self.location(uri, &checked, module, span))
            .map(GotoDefinitionResponse::Scalar))
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        let position = params.text_document_position;
        let uri = position.text_document.uri;
        let with_declaration = params.context.include_declaration;
        let Some((text, offset)) = self.text_at(&uri, position.position) else {
            return Ok(None);
        };
        // A name no other file can use (a `let`, a step, an alias): the latest check answers,
        // when it saw this text.
        let mut known = None;
        if let Some(checked) = self.checked(&uri).filter(|c| c.text() == text) {
            let Some((word, module, span)) = references::target(&checked, offset) else {
                return Ok(Some(Vec::new()));
            };
            known = Some((
                text[word.start..word.end].to_string(),
                references::Definition::of(&checked, (module, span)),
            ));
            if !references::is_shared(&checked, module, span) {
                let source = checked.source();
                let spans = references::references(&checked, offset, with_declaration);
                return Ok(Some(
                    spans
                        .into_iter()
                        .map(|span| Location::new(uri.clone(), source.range(span)))
                        .collect(),
                ));
            }
        }
        let document = document_path(&uri);
        let open = self.buffers();
        let search = tokio::task::spawn_blocking(move || {
            let files = workspace::project_files(&document, &open);
            let loader = documents::buffer_loader(open);
            let (project, found) = references::workspace_references(
                &document,
                offset,
                with_declaration,
                &files,
                loader,
                known,
            )?;
            Some(
                found
                    .into_iter()
                    .map(|(module, spans)| {
                        let source = project.source_of(module);
                        let ranges = spans.into_iter().map(|s| source.range(s)).collect();
                        (project.path_of(module).to_path_buf(), ranges)
                    })
                    .collect::<Vec<(PathBuf, Vec<Range>)>>(),
            )
        });
        let found = search.await.ok().flatten().unwrap_or_default();
        let mut locations = Vec::new();
        for (path, ranges) in found {
            let Some(file) = self.uri_for(&path) else {
                continue;
            };
            locations.extend(ranges.into_iter().map(|r| Location::new(file.clone(), r)));
        }
        Ok(Some(locations))
    }

    async fn prepare_rename(
        &self,
        params: TextDocumentPositionParams,
    ) -> Result<Option<PrepareRenameResponse>> {
        let Some((checked, offset)) = self.checked_at(&params) else {
            return Ok(None);
        };
        let source = checked.source();
        match rename::prepare_rename(&checked, offset) {
            Ok(span) => Ok(Some(PrepareRenameResponse::Range(source.range(span)))),
            Err(why) => Err(tower_lsp_server::jsonrpc::Error::invalid_params(
                why.to_string(),
            )),
        }
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        let position = params.text_document_position;
        let uri = position.text_document.uri;
        let Some((_, offset)) = self.text_at(&uri, position.position) else {
            return Ok(None);
        };
        let document = document_path(&uri);
        let open = self.buffers();
        let new_name = params.new_name;
        let planned = tokio::task::spawn_blocking(move || {
            let files = workspace::project_files(&document, &open);
            let loader = documents::buffer_loader(open);
            let edits = rename::rename(&document, offset, &new_name, &files, loader.clone())
                .map_err(|e| e.to_string())?;
            // Spans become ranges in the text each file has now.
            let mut ranges = Vec::new();
            for (path, spans) in edits {
                let text = loader.read(&path).map_err(|e| e.to_string())?;
                let lines = rbk_compiler::diagnostics::LineIndex::new(&text);
                let source = convert::SourceText {
                    text: &text,
                    lines: &lines,
                };
                let edits: Vec<TextEdit> = spans
                    .into_iter()
                    .map(|span| TextEdit::new(source.range(span), new_name.clone()))
                    .collect();
                ranges.push((path, edits));
            }
            Ok::<_, String>(ranges)
        });
        let planned = match planned.await {
            Ok(planned) => planned,
            Err(_) => Err("rbk: internal error while renaming; please report it".to_string()),
        };
        match planned {
            Ok(files) => {
                let mut changes = HashMap::new();
                for (path, edits) in files {
                    let Some(file) = self.uri_for(&path) else {
                        return Err(tower_lsp_server::jsonrpc::Error::invalid_params(format!(
                            "{} has no URI an editor can open",
                            path.display()
                        )));
                    };
                    changes.insert(file, edits);
                }
                Ok(Some(WorkspaceEdit::new(changes)))
            }
            Err(why) => Err(tower_lsp_server::jsonrpc::Error::invalid_params(
                why.to_string(),
            )),
        }
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        if self.is_large(&params.text_document.uri) {
            return Ok(None);
        }
        let Some(checked) = self.checked(&params.text_document.uri) else {
            return Ok(None);
        };
        Ok(Some(DocumentSymbolResponse::Nested(
            symbols::document_symbols(&checked),
        )))
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        let Some(text) = self.text(&params.text_document.uri) else {
            return Ok(None);
        };
        // A buffer with syntax errors is left as it is.
        let Ok(formatted) = rbk_compiler::format::format(&text) else {
            return Ok(Some(Vec::new()));
        };
        Ok(Some(formatting::edits(&text, &formatted)))
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let uri = &params.text_document.uri;
        let Some(checked) = self.checked(uri) else {
            return Ok(None);
        };
        let source = checked.source();
        let mut actions = Vec::new();
        for diagnostic in checked.own_diagnostics() {
            let lsp_diagnostic = convert::diagnostic(&source, uri, diagnostic);
            if !actions::asked_for(&lsp_diagnostic, params.range, &params.context.diagnostics) {
                continue;
            }
            for action in actions::quick_fixes(&source, uri, diagnostic, &lsp_diagnostic) {
                actions.push(CodeActionOrCommand::CodeAction(action));
            }
        }
        Ok(Some(actions))
    }

    async fn semantic_tokens_full(
        &self,
        params: SemanticTokensParams,
    ) -> Result<Option<SemanticTokensResult>> {
        if self.is_large(&params.text_document.uri) {
            return Ok(None);
        }
        let Some((text, checked)) = self.text_and_check(&params.text_document.uri) else {
            return Ok(None);
        };
        let data = crate::semantic_tokens::semantic_tokens(&text, checked.as_deref());
        Ok(Some(SemanticTokensResult::Tokens(SemanticTokens {
            result_id: None,
            data,
        })))
    }

    async fn folding_range(&self, params: FoldingRangeParams) -> Result<Option<Vec<FoldingRange>>> {
        if self.is_large(&params.text_document.uri) {
            return Ok(None);
        }
        let Some((text, checked)) = self.text_and_check(&params.text_document.uri) else {
            return Ok(None);
        };
        Ok(Some(crate::folding::folding_ranges(
            &text,
            checked.as_deref(),
        )))
    }

    async fn inlay_hint(&self, params: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
        if self.is_large(&params.text_document.uri) {
            return Ok(None);
        }
        let Some(checked) = self.checked(&params.text_document.uri) else {
            return Ok(None);
        };
        Ok(Some(crate::inlay_hints::inlay_hints(
            &checked,
            params.range,
        )))
    }
}
