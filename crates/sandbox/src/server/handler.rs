//! Dispatch: a request's path, method, query and body become one store operation, and its
//! result the response.

use std::net::SocketAddr;
use std::sync::Arc;

use http::request::Parts;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::Value;

use super::query::{self, Query};
use super::request_log::{RequestLog, RequestRecord};
use super::response::{self, Body};
use super::route::Route;
use super::{admin, discovery, openapi, reviews, table, token_request};
use crate::admission;
use crate::auth::forbidden::forbidden;
use crate::auth::impersonation::{self, Effective, Refused};
use crate::auth::rbac::{self, authorize};
use crate::auth::{Authenticated, Authenticator, RequestAttributes};
use crate::error::{ApiError, Reason};
use crate::faults::Faults;
use crate::resources::ResourceKind;
use crate::store::{
    Admitted, DeleteOptions, DeleteOutcome, ObjectList, PatchBody, Requester, ResourceRef, Store, Subresource,
    WatchEvent, WriteOptions,
};

/// What every request handler shares.
pub struct Context {
    /// The object store.
    pub store: Arc<Store>,
    /// Where the server listens, as discovery reports it.
    pub address: SocketAddr,
    /// Who may ask.
    pub auth: Arc<Authenticator>,
    /// The faults tests inject.
    pub faults: Arc<Faults>,
    /// The log of answered API requests.
    pub requests: Arc<RequestLog>,
}

/// The body of a DELETE: the parts of `DeleteOptions` the sandbox acts on.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteBody {
    propagation_policy: Option<String>,
    orphan_dependents: Option<bool>,
    dry_run: Option<Vec<String>>,
    preconditions: Option<Preconditions>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Preconditions {
    uid: Option<String>,
    resource_version: Option<String>,
}

/// Answers one request.
pub async fn handle(context: Arc<Context>, request: Request<Incoming>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    // Who asks is known from the headers: a request that does not authenticate is answered
    // without reading its body, and no body is read past the API server's limit.
    let authenticated = context.auth.authenticate(&parts.headers);
    let bytes = match &authenticated {
        Ok(_) => match read_body(body).await {
            Ok(bytes) => bytes,
            Err(e) => return response::error(&e),
        },
        Err(_) => bytes::Bytes::new(),
    };
    let path = parts.uri.path();
    let query = Query::parse(parts.uri.query()).unwrap_or_default();
    let attrs = RequestAttributes::new(&parts.method, path, query.watch);
    let mut notes = Admitted::default();
    let (who, result) = match authenticated {
        Err(e) => (None, Err(e)),
        Ok(who) if path.starts_with(admin::PREFIX) => {
            let result = match &who {
                Authenticated::Admin => admin::handle(&context, &parts.method, path, &bytes),
                Authenticated::User(_) => {
                    Err(ApiError::new(Reason::Forbidden, "only the admin token may use the sandbox controls"))
                }
            };
            (None, result)
        }
        Ok(caller) => match impersonation::resolve(caller.clone(), &parts.headers, &context.store) {
            Err(refused) => {
                (Some(Effective { who: caller, impersonator: None }), refused_impersonation(&parts, refused))
            }
            Ok(effective) => {
                let requester = Requester::new(admission::user_of(&effective.who));
                let result = match admit(&context, &effective.who, &attrs).await {
                    Ok(()) => reviews::answer(&context.store, &effective.who, &parts, &bytes)
                        .unwrap_or_else(|| dispatch(&context, &parts, &bytes, &requester)),
                    Err(e) => Err(e),
                };
                notes = requester.notes();
                (Some(effective), result)
            }
        },
    };
    let mut response = result.unwrap_or_else(|e| response::error(&e));
    response::add_warnings(&mut response, &notes.warnings);
    for (key, value) in &notes.audit_annotations {
        tracing::debug!(annotation = %key, value = %value, uri = %parts.uri, "admission audit annotation");
    }
    tracing::debug!(method = %parts.method, uri = %parts.uri, status = response.status().as_u16(), "sandbox request");
    if let Some(who) = who {
        let dry_run = query.dry_run || dry_run_in_body(&parts, &bytes);
        let record = RequestRecord::of(&who, &attrs, dry_run, response.status().as_u16());
        context.requests.record(record.with_audit_annotations(notes.audit_annotations));
    }
    response
}

/// The answer to a request that may not impersonate what it asks for: the 403, or the
/// plain-text 500 kube-apiserver gives headers that name no user.
fn refused_impersonation(parts: &Parts, refused: Refused) -> Result<Response<Body>, ApiError> {
    match refused {
        Refused::Forbidden(e) => Err(e),
        Refused::Malformed(why) => {
            let uri = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or_else(|| parts.uri.path());
            let text = format!("Internal Server Error: {uri:?}: {why}\n")
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            Ok(response::text(StatusCode::INTERNAL_SERVER_ERROR, &text))
        }
    }
}

/// The most a request body may hold, as kube-apiserver's `--max-request-body-bytes`
/// defaults to: 3 MiB.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// The request body, refused with 413 past [`MAX_BODY_BYTES`].
async fn read_body(body: Incoming) -> Result<bytes::Bytes, ApiError> {
    match http_body_util::Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::new(
            Reason::RequestEntityTooLarge,
            format!("Request entity too large: limit is {MAX_BODY_BYTES}"),
        )),
        Err(e) => Err(ApiError::bad_request(format!("unable to read the request body: {e}"))),
    }
}

/// Authorization, then injected faults: whether the request gets served, after how long.
async fn admit(context: &Context, who: &Authenticated, attrs: &RequestAttributes) -> Result<(), ApiError> {
    authorize(who, attrs, &context.store)?;
    let verdict = context.faults.decide(attrs);
    if let Some(delay) = verdict.delay {
        tokio::time::sleep(delay).await;
    }
    verdict.failure.map_or(Ok(()), Err)
}

/// Whether a DELETE's body asks for a dry run (`DeleteOptions.dryRun: [All]`).
fn dry_run_in_body(parts: &Parts, body: &[u8]) -> bool {
    parts.method == Method::DELETE
        && serde_json::from_slice::<DeleteBody>(body)
            .ok()
            .and_then(|b| b.dry_run)
            .is_some_and(|values| values.iter().any(|v| v == "All"))
}

/// `Some(includeObject)` when the request asks for a Table.
fn as_table(parts: &Parts) -> Option<table::IncludeObject> {
    let accept = parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())?;
    if !table::wants_table(accept) {
        return None;
    }
    let include = form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "includeObject")
        .map(|(_, v)| v.into_owned());
    Some(table::IncludeObject::parse(include.as_deref()))
}

fn media_type(parts: &Parts) -> String {
    parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .unwrap_or_default()
}

pub(super) fn decode_object(parts: &Parts, body: &[u8]) -> Result<Value, ApiError> {
    let value: Value = match media_type(parts).as_str() {
        "" | "application/json" | "*/*" => serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("unable to decode the request body as JSON: {e}")).with_source(e)
        })?,
        "application/yaml" => serde_yaml::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("unable to decode the request body as YAML: {e}")).with_source(e)
        })?,
        crate::protobuf::MEDIA_TYPE => crate::protobuf::decode(body)?,
        other => {
            return Err(ApiError::new(
                Reason::UnsupportedMediaType,
                format!(
                    "the body of the request was in an unknown format ({other}) - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf"
                ),
            ));
        }
    };
    if !value.is_object() {
        return Err(ApiError::bad_request("the request body must be a JSON object"));
    }
    Ok(value)
}

fn decode_patch(parts: &Parts, body: &[u8]) -> Result<PatchBody, ApiError> {
    match media_type(parts).as_str() {
        "application/merge-patch+json" => PatchBody::merge_from_slice(body),
        "application/json-patch+json" => PatchBody::json_from_slice(body),
        "application/strategic-merge-patch+json" => PatchBody::strategic_from_slice(body),
        "application/apply-patch+yaml" => PatchBody::apply_from_slice(body),
        other => Err(ApiError::new(
            Reason::UnsupportedMediaType,
            format!(
                "the body of the request was in an unknown format ({other}) - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json"
            ),
        )),
    }
}

fn write_options(query: &Query, parts: &Parts, requester: &Requester) -> Result<WriteOptions, ApiError> {
    let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    let options =
        WriteOptions { dry_run: query.dry_run, requester: Some(requester.clone()), ..WriteOptions::default() };
    options.with_request(parts.uri.query(), user_agent)
}

fn delete_options(query: &Query, body: &[u8], requester: &Requester) -> Result<DeleteOptions, ApiError> {
    let decoded: DeleteBody = if body.iter().all(u8::is_ascii_whitespace) {
        DeleteBody::default()
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("unable to decode DeleteOptions: {e}")).with_source(e))?
    };
    let mut propagation = match decoded.propagation_policy.as_deref() {
        Some(p) => Some(query::propagation(p)?),
        None => query.propagation,
    };
    if propagation.is_none() && decoded.orphan_dependents == Some(true) {
        propagation = Some(crate::store::Propagation::Orphan);
    }
    let mut dry_run = query.dry_run;
    for value in decoded.dry_run.iter().flatten() {
        dry_run |= query::dry_run(value)?;
    }
    let preconditions = decoded.preconditions.unwrap_or_default();
    Ok(DeleteOptions {
        dry_run,
        propagation: propagation.unwrap_or_default(),
        precondition_uid: preconditions.uid,
        precondition_resource_version: preconditions.resource_version,
        requester: Some(requester.clone()),
    })
}

fn not_allowed(method: &Method, path: &str) -> ApiError {
    ApiError::method_not_allowed(format!(
        "the server does not allow this method on the requested resource ({method} {path})"
    ))
}

fn dispatch(context: &Context, parts: &Parts, body: &[u8], requester: &Requester) -> Result<Response<Body>, ApiError> {
    let path = parts.uri.path();
    let route = Route::parse(path).ok_or_else(|| ApiError::resource_not_served(path))?;
    let discovery_get = |response: Response<Body>| {
        if parts.method == Method::GET { Ok(response) } else { Err(not_allowed(&parts.method, path)) }
    };
    match route {
        Route::Version => discovery_get(response::json(StatusCode::OK, &discovery::version())),
        Route::Health => discovery_get(response::text(StatusCode::OK, "ok")),
        Route::CoreVersions => {
            let registry = context.store.registry();
            discovery_get(response::json(StatusCode::OK, &discovery::core_versions(&registry, context.address)))
        }
        Route::OpenApiRoot => discovery_get(response::json(StatusCode::OK, &openapi::root(&context.store.registry()))),
        Route::OpenApiGroupVersion(gv) => {
            let document = openapi::group_version_document(&context.store.registry(), &gv)
                .ok_or_else(|| ApiError::resource_not_served(path))?;
            discovery_get(response::json(StatusCode::OK, &document))
        }
        Route::Groups => discovery_get(response::json(StatusCode::OK, &discovery::groups(&context.store.registry()))),
        Route::Group(name) => {
            let group = discovery::group(&context.store.registry(), &name)
                .ok_or_else(|| ApiError::resource_not_served(path))?;
            discovery_get(response::json(StatusCode::OK, &group))
        }
        Route::Resources { group, version } => {
            let list = discovery::resources(&context.store.registry(), &group, &version)
                .ok_or_else(|| ApiError::resource_not_served(path))?;
            discovery_get(response::json(StatusCode::OK, &list))
        }
        Route::Collection { group, version, resource, namespace } => {
            let kind = context
                .store
                .resolve(&group, &version, &resource)
                .ok_or_else(|| ApiError::resource_not_served(path))?;
            if !kind.namespaced() && namespace.is_some() {
                return Err(ApiError::resource_not_served(path));
            }
            let target = ResourceRef::new(&group, &version, &resource, namespace.as_deref());
            collection(context, parts, body, &kind, &target, requester)
        }
        Route::Object { group, version, resource, namespace, name, subresource } => {
            let kind = context
                .store
                .resolve(&group, &version, &resource)
                .ok_or_else(|| ApiError::resource_not_served(path))?;
            if kind.namespaced() != namespace.is_some() {
                return Err(ApiError::resource_not_served(path));
            }
            let subresource = match subresource.as_deref() {
                None => Subresource::Main,
                Some("status") if kind.status_subresource => Subresource::Status,
                Some("token") if group.is_empty() && resource == "serviceaccounts" => {
                    return service_account_token(
                        context,
                        parts,
                        body,
                        namespace.as_deref().unwrap_or_default(),
                        &name,
                    );
                }
                Some(_) => return Err(ApiError::resource_not_served(path)),
            };
            let target = ResourceRef::new(&group, &version, &resource, namespace.as_deref());
            object(context, parts, body, &kind, &target, &name, subresource, requester)
        }
    }
}

/// `POST .../serviceaccounts/{name}/token`: a TokenRequest for an existing ServiceAccount.
fn service_account_token(
    context: &Context,
    parts: &Parts,
    body: &[u8],
    namespace: &str,
    name: &str,
) -> Result<Response<Body>, ApiError> {
    if parts.method != Method::POST {
        return Err(not_allowed(&parts.method, parts.uri.path()));
    }
    let query = Query::parse(parts.uri.query())?;
    let account = context.store.get(&ResourceRef::new("", "v1", "serviceaccounts", Some(namespace)), name)?;
    let request = decode_object(parts, body)?;
    let answer =
        token_request::create(&context.auth, namespace, &account, &request, query.dry_run, jiff::Timestamp::now())?;
    Ok(response::json(StatusCode::CREATED, &answer))
}

fn collection(
    context: &Context,
    parts: &Parts,
    body: &[u8],
    kind: &ResourceKind,
    target: &ResourceRef,
    requester: &Requester,
) -> Result<Response<Body>, ApiError> {
    let query = Query::parse(parts.uri.query())?;
    let store = &context.store;
    let all_namespaces = kind.namespaced() && target.namespace.is_none();
    match parts.method {
        Method::GET if query.watch => {
            let session = store.watch(target, &query.watch_options())?;
            let encode: response::EventEncoder = match as_table(parts) {
                Some(include) => {
                    let columns = table::columns_for(store, kind);
                    Box::new(move |event| {
                        serde_json::to_vec(&table::watch_event(&columns, event, include)).unwrap_or_default()
                    })
                }
                None => Box::new(WatchEvent::encode),
            };
            Ok(response::watch(session, context.faults.watch_drops(), encode))
        }
        Method::GET => {
            let list = store.list(target, &query.list_options())?.to_json();
            match as_table(parts) {
                Some(include) => {
                    let items = list["items"].as_array().cloned().unwrap_or_default();
                    let columns = table::columns_for(store, kind);
                    Ok(response::json(
                        StatusCode::OK,
                        &table::table(&columns, &items, include, list["metadata"].clone()),
                    ))
                }
                None => Ok(response::json(StatusCode::OK, &list)),
            }
        }
        Method::POST if !all_namespaces => {
            let object = decode_object(parts, body)?;
            let created = store.create(target, object, write_options(&query, parts, requester)?)?;
            Ok(response::json(StatusCode::CREATED, &created))
        }
        Method::DELETE if !all_namespaces => {
            let options = delete_options(&query, body, requester)?;
            let outcomes = store.delete_collection(target, &query.list_options(), &options)?;
            let items = outcomes
                .into_iter()
                .map(|o| match o {
                    DeleteOutcome::Deleted(v) | DeleteOutcome::Pending(v) => v,
                })
                .collect();
            let list = ObjectList {
                kind: kind.clone(),
                items,
                resource_version: store.resource_version(),
                continue_token: None,
                remaining_item_count: None,
            };
            Ok(response::json(StatusCode::OK, &list.to_json()))
        }
        _ => Err(not_allowed(&parts.method, parts.uri.path())),
    }
}

/// Refuses an apply that would create an object its requester may not create.
fn authorize_create(
    store: &Store,
    requester: &Requester,
    kind: &ResourceKind,
    target: &ResourceRef,
    name: &str,
) -> Result<(), ApiError> {
    let attrs = RequestAttributes {
        verb: "create".to_string(),
        resource_request: true,
        group: kind.group.clone(),
        resource: kind.resource.clone(),
        subresource: None,
        namespace: target.namespace.clone().unwrap_or_default(),
        name: name.to_string(),
        path: String::new(),
    };
    if rbac::decide(&requester.user, &attrs, store).allowed { Ok(()) } else { Err(forbidden(&requester.user, &attrs)) }
}

#[allow(clippy::too_many_arguments)]
fn object(
    context: &Context,
    parts: &Parts,
    body: &[u8],
    kind: &ResourceKind,
    target: &ResourceRef,
    name: &str,
    subresource: Subresource,
    requester: &Requester,
) -> Result<Response<Body>, ApiError> {
    let query = Query::parse(parts.uri.query())?;
    let store = &context.store;
    let write = write_options(&query, parts, requester)?;
    match parts.method {
        Method::GET => {
            let object = store.get(target, name)?;
            match as_table(parts) {
                Some(include) => {
                    let columns = table::columns_for(store, kind);
                    let metadata = serde_json::json!({"resourceVersion": store.resource_version().to_string()});
                    Ok(response::json(StatusCode::OK, &table::table(&columns, &[object], include, metadata)))
                }
                None => Ok(response::json(StatusCode::OK, &object)),
            }
        }
        Method::PUT => {
            let object = decode_object(parts, body)?;
            Ok(response::json(StatusCode::OK, &store.update(target, name, object, subresource, write)?))
        }
        Method::PATCH => {
            let patch = decode_patch(parts, body)?;
            // An apply that creates the object is authorized as a create as well, and
            // answered 201, as kube-apiserver does.
            let creates = matches!(patch, PatchBody::Apply(_))
                && subresource == Subresource::Main
                && store.get(target, name).is_err_and(|e| e.reason == Reason::NotFound);
            if creates {
                authorize_create(store, requester, kind, target, name)?;
            }
            let patched = store.patch(target, name, &patch, subresource, write)?;
            Ok(response::json(if creates { StatusCode::CREATED } else { StatusCode::OK }, &patched))
        }
        Method::DELETE if subresource == Subresource::Main => {
            let options = delete_options(&query, body, requester)?;
            Ok(match store.delete(target, name, &options)? {
                DeleteOutcome::Deleted(last) if !kind.delete_returns_object => response::deleted(kind, &last),
                DeleteOutcome::Deleted(object) | DeleteOutcome::Pending(object) => {
                    response::json(StatusCode::OK, &object)
                }
            })
        }
        _ => Err(not_allowed(&parts.method, parts.uri.path())),
    }
}
