//! How the store's costs grow with its size: for each N (1,000, 10,000 and 100,000
//! ConfigMaps by default), the time per created, read, updated, listed or deleted object,
//! and the memory the store holds per object. Calls the `Store` directly: no HTTP, no
//! admission, no watches.
//!
//! Every namespace holds 100 ConfigMaps (`cm-<i>` in `ns-<i / 100>`), so a namespace's
//! list, a namespace deletion or a selector returns as many objects at every N and any
//! growth in their cost per object is the store's. In each block of ten ConfigMaps the
//! first owns the other nine (an ownerReference with its uid). Labels: `app=bench` on all,
//! `batch=b<i mod N/100>`, so each batch is 100 ConfigMaps spread over every namespace.
//!
//! The phases, in order, on one store per N: create all; get and update (merge patch)
//! each; list each namespace; list each namespace with `app=bench`; list batches across
//! all namespaces with `batch=...`; page through everything with `limit=500`; then, on
//! disjoint namespaces, garbage collection (delete the owners, background propagation:
//! each takes its nine dependents with it), namespace deletion (the Namespace and its 100
//! ConfigMaps), and deletes one by one (dependents before their owner). Every phase checks
//! what it did, so a fast wrong answer cannot pass as a result.
//!
//! Memory per object: live heap bytes (a counting global allocator) and resident memory
//! (`VmRSS`) after the creates, minus before the store was made, over N. The store's watch
//! history (10,000 changes by default) shares the created objects, so it adds little here.
//! To read it against: the size of one stored ConfigMap as JSON, and how many non-empty
//! JSON objects it holds (each a `serde_json::Map`, a B-tree with its own nodes).
//!
//! `cargo bench -p driftwarden-sandbox --bench scale`. Knobs: `DW_BENCH_SIZES`
//! (comma-separated, default `1000,10000,100000`); `DW_BENCH_SAMPLE` (default unlimited):
//! at most this many objects per timed phase after the creates, to measure a slow store at
//! a large N without waiting hours; `DW_BENCH_HISTORY` (default 10,000): how many changes
//! the store keeps for watches. Once the history is full, every write drops the oldest
//! change and frees the object copies only it held, which a small N never pays.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use driftwarden_sandbox::store::{
    DeleteOptions, LabelSelector, ListOptions, PatchBody, ResourceRef, Store, StoreConfig, Subresource, WriteOptions,
    meta,
};
use serde_json::{Value, json};

/// ConfigMaps per namespace.
const PER_NAMESPACE: usize = 100;
/// ConfigMaps per owner block: the first owns the rest.
const BLOCK: usize = 10;
/// The page size of the paged list.
const PAGE: usize = 500;

/// Counts the bytes the process holds on the heap.
struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; only counts are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is System's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is System's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is System's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

type Error = Box<dyn std::error::Error>;

/// The phases, in the order of the table.
const PHASES: [&str; 10] = [
    "create",
    "get",
    "update (merge patch)",
    "list one namespace",
    "list namespace + selector",
    "list cluster-wide selector",
    "paged list, limit 500",
    "garbage collection",
    "namespace deletion",
    "delete one by one",
];

/// What one N measured: µs per object for each phase, and memory per object.
struct Measured {
    n: usize,
    micros: Vec<f64>,
    heap_bytes_per_object: f64,
    rss_bytes_per_object: f64,
    total: Duration,
}

/// The shape of one stored ConfigMap, to read the memory per object against: its size as
/// JSON, and how many non-empty JSON objects it holds (each is a map on the heap).
struct Shape {
    json_bytes: usize,
    maps: usize,
}

impl Shape {
    fn of(object: &Value) -> Self {
        Shape { json_bytes: serde_json::to_vec(object).map_or(0, |bytes| bytes.len()), maps: maps_in(object) }
    }
}

fn maps_in(value: &Value) -> usize {
    match value {
        Value::Object(map) => usize::from(!map.is_empty()) + map.values().map(maps_in).sum::<usize>(),
        Value::Array(items) => items.iter().map(maps_in).sum(),
        _ => 0,
    }
}

/// A timed phase: how long it took and how many objects it returned or affected.
struct Timed {
    elapsed: Duration,
    objects: usize,
}

impl Timed {
    fn micros_per_object(&self) -> f64 {
        self.elapsed.as_secs_f64() * 1e6 / self.objects.max(1) as f64
    }
}

fn setting(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn sizes() -> Result<Vec<usize>, Error> {
    let text = setting("DW_BENCH_SIZES").unwrap_or_else(|| "1000,10000,100000".to_string());
    let sizes: Vec<usize> = text.split(',').map(|s| s.trim().parse::<usize>()).collect::<Result<_, _>>()?;
    // Four namespaces at least: garbage collection, namespace deletion and deletes one by
    // one each take namespaces of their own.
    if sizes.iter().any(|n| *n < 4 * PER_NAMESPACE || n % PER_NAMESPACE != 0) {
        return Err(format!(
            "DW_BENCH_SIZES={text}: each size must be a multiple of {PER_NAMESPACE} and at least {}",
            4 * PER_NAMESPACE
        )
        .into());
    }
    Ok(sizes)
}

fn sample() -> Result<usize, Error> {
    match setting("DW_BENCH_SAMPLE") {
        Some(text) => Ok(text.parse().map_err(|e| format!("DW_BENCH_SAMPLE={text}: {e}"))?),
        None => Ok(usize::MAX),
    }
}

/// The store's tunables: the default, with `DW_BENCH_HISTORY` changes kept for watches.
fn store_config() -> Result<StoreConfig, Error> {
    let mut config = StoreConfig::default();
    if let Some(text) = setting("DW_BENCH_HISTORY") {
        config.history_capacity = text.parse().map_err(|e| format!("DW_BENCH_HISTORY={text}: {e}"))?;
    }
    Ok(config)
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
        .unwrap_or(0)
        * 1024
}

fn namespaces() -> ResourceRef {
    ResourceRef::new("", "v1", "namespaces", None)
}

fn configmaps(namespace: Option<&str>) -> ResourceRef {
    ResourceRef::new("", "v1", "configmaps", namespace)
}

fn namespace_of(i: usize) -> String {
    format!("ns-{:05}", i / PER_NAMESPACE)
}

fn name_of(i: usize) -> String {
    format!("cm-{i:07}")
}

fn writer() -> WriteOptions {
    WriteOptions { field_manager: Some("bench".to_string()), ..WriteOptions::default() }
}

/// ConfigMap `i`; a dependent names its block's first ConfigMap, whose uid is `owner_uid`.
fn configmap(i: usize, n: usize, owner_uid: Option<&str>) -> Value {
    let mut body = json!({
        "metadata": {
            "name": name_of(i),
            "labels": {"app": "bench", "batch": format!("b{}", i % (n / PER_NAMESPACE))},
        },
        "data": {"index": i.to_string(), "payload": "x".repeat(64)},
    });
    if let Some(uid) = owner_uid {
        body["metadata"]["ownerReferences"] =
            json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": name_of(i - i % BLOCK), "uid": uid}]);
    }
    body
}

/// Creates the namespaces and the N ConfigMaps; times the ConfigMaps.
fn create_all(store: &Store, n: usize) -> Result<Timed, Error> {
    for ns in 0..n / PER_NAMESPACE {
        let body = json!({"metadata": {"name": namespace_of(ns * PER_NAMESPACE)}});
        store.create(&namespaces(), body, writer())?;
    }
    let started = Instant::now();
    let mut owner_uid = String::new();
    for i in 0..n {
        let target = configmaps(Some(&namespace_of(i)));
        let owner = (i % BLOCK != 0).then_some(owner_uid.as_str());
        let created = store.create(&target, configmap(i, n, owner), writer())?;
        if i % BLOCK == 0 {
            owner_uid = meta::uid(&created).to_string();
        }
    }
    Ok(Timed { elapsed: started.elapsed(), objects: n })
}

/// The indexes of `count` objects spread evenly over `0..n`.
fn spread(n: usize, count: usize) -> impl Iterator<Item = usize> {
    let step = (n / count.max(1)).max(1);
    (0..n).step_by(step).take(count)
}

fn get_each(store: &Store, n: usize, sample: usize) -> Result<Timed, Error> {
    let started = Instant::now();
    let mut objects = 0;
    for i in spread(n, sample.min(n)) {
        let got = store.get(&configmaps(Some(&namespace_of(i))), &name_of(i))?;
        if meta::name(&got) != name_of(i) {
            return Err(format!("get {} answered {}", name_of(i), meta::name(&got)).into());
        }
        objects += 1;
    }
    Ok(Timed { elapsed: started.elapsed(), objects })
}

fn update_each(store: &Store, n: usize, sample: usize) -> Result<Timed, Error> {
    let started = Instant::now();
    let mut objects = 0;
    for i in spread(n, sample.min(n)) {
        let patch = PatchBody::Merge(json!({"data": {"updated": "yes"}}));
        store.patch(&configmaps(Some(&namespace_of(i))), &name_of(i), &patch, Subresource::Main, writer())?;
        objects += 1;
    }
    Ok(Timed { elapsed: started.elapsed(), objects })
}

/// Lists every namespace (at most as many as cover `sample` objects) with `selector`.
fn list_namespaces(store: &Store, n: usize, sample: usize, selector: &str) -> Result<Timed, Error> {
    let options = ListOptions { label_selector: LabelSelector::parse(selector)?, ..ListOptions::default() };
    let count = (n / PER_NAMESPACE).min(sample.div_ceil(PER_NAMESPACE));
    let started = Instant::now();
    let mut objects = 0;
    for ns in spread(n / PER_NAMESPACE, count) {
        let listed = store.list(&configmaps(Some(&namespace_of(ns * PER_NAMESPACE))), &options)?;
        if listed.items.len() != PER_NAMESPACE {
            return Err(format!("namespace {ns} listed {} objects", listed.items.len()).into());
        }
        objects += listed.items.len();
    }
    Ok(Timed { elapsed: started.elapsed(), objects })
}

/// Lists batches across all namespaces (`batch=b<k>`, 100 objects each).
fn list_batches(store: &Store, n: usize, sample: usize) -> Result<Timed, Error> {
    let batches = n / PER_NAMESPACE;
    let count = batches.min(sample.div_ceil(PER_NAMESPACE)).min(50);
    let started = Instant::now();
    let mut objects = 0;
    for batch in spread(batches, count) {
        let options =
            ListOptions { label_selector: LabelSelector::parse(&format!("batch=b{batch}"))?, ..ListOptions::default() };
        let listed = store.list(&configmaps(None), &options)?;
        if listed.items.len() != PER_NAMESPACE {
            return Err(format!("batch b{batch} listed {} objects", listed.items.len()).into());
        }
        objects += listed.items.len();
    }
    Ok(Timed { elapsed: started.elapsed(), objects })
}

/// Pages through every ConfigMap, checking each comes exactly once, in order.
fn page_through(store: &Store, n: usize) -> Result<Timed, Error> {
    let started = Instant::now();
    let mut objects = 0;
    let mut token: Option<String> = None;
    let mut last = String::new();
    loop {
        let options = ListOptions { limit: Some(PAGE), continue_token: token.clone(), ..ListOptions::default() };
        let page = store.list(&configmaps(None), &options)?;
        for item in &page.items {
            let name = meta::name(item).to_string();
            if name <= last {
                return Err(format!("the paged list returned {name} after {last}").into());
            }
            last = name;
        }
        objects += page.items.len();
        token = page.continue_token;
        if token.is_none() {
            break;
        }
    }
    if objects != n {
        return Err(format!("the paged list returned {objects} of {n} objects").into());
    }
    Ok(Timed { elapsed: started.elapsed(), objects })
}

fn count_in(store: &Store, namespace: &str) -> Result<usize, Error> {
    Ok(store.list(&configmaps(Some(namespace)), &ListOptions::default())?.items.len())
}

/// Deletes the owners in namespaces `range`; their dependents are collected with them.
fn collect_garbage(store: &Store, range: std::ops::Range<usize>) -> Result<Timed, Error> {
    let started = Instant::now();
    for ns in range.clone() {
        let namespace = namespace_of(ns * PER_NAMESPACE);
        for i in (ns * PER_NAMESPACE..(ns + 1) * PER_NAMESPACE).step_by(BLOCK) {
            store.delete(&configmaps(Some(&namespace)), &name_of(i), &DeleteOptions::default())?;
        }
    }
    let elapsed = started.elapsed();
    for ns in range.clone() {
        let left = count_in(store, &namespace_of(ns * PER_NAMESPACE))?;
        if left != 0 {
            return Err(format!("garbage collection left {left} objects in namespace {ns}").into());
        }
    }
    Ok(Timed { elapsed, objects: range.len() * PER_NAMESPACE })
}

/// Deletes the namespaces `range` with their contents.
fn delete_namespaces(store: &Store, range: std::ops::Range<usize>) -> Result<Timed, Error> {
    let started = Instant::now();
    for ns in range.clone() {
        store.delete(&namespaces(), &namespace_of(ns * PER_NAMESPACE), &DeleteOptions::default())?;
    }
    let elapsed = started.elapsed();
    for ns in range.clone() {
        let name = namespace_of(ns * PER_NAMESPACE);
        if store.get(&namespaces(), &name).is_ok() {
            return Err(format!("namespace {name} is still there after its deletion").into());
        }
    }
    Ok(Timed { elapsed, objects: range.len() * PER_NAMESPACE })
}

/// Deletes the ConfigMaps of namespaces `range` one by one, dependents before owners.
fn delete_each(store: &Store, range: std::ops::Range<usize>) -> Result<Timed, Error> {
    let started = Instant::now();
    let mut objects = 0;
    for i in (range.start * PER_NAMESPACE..range.end * PER_NAMESPACE).rev() {
        store.delete(&configmaps(Some(&namespace_of(i))), &name_of(i), &DeleteOptions::default())?;
        objects += 1;
    }
    Ok(Timed { elapsed: started.elapsed(), objects })
}

/// Runs every phase on a store of `n` ConfigMaps.
fn measure(n: usize, sample: usize) -> Result<Measured, Error> {
    let began = Instant::now();
    let (heap_before, rss_before) = (LIVE_BYTES.load(Ordering::Relaxed), rss_bytes());
    let store = Store::new(store_config()?)?;
    let mut timed = vec![create_all(&store, n)?];
    let heap_bytes_per_object = LIVE_BYTES.load(Ordering::Relaxed).saturating_sub(heap_before) as f64 / n as f64;
    let rss_bytes_per_object = rss_bytes().saturating_sub(rss_before) as f64 / n as f64;
    timed.push(get_each(&store, n, sample)?);
    timed.push(update_each(&store, n, sample)?);
    timed.push(list_namespaces(&store, n, sample, "")?);
    timed.push(list_namespaces(&store, n, sample, "app=bench")?);
    timed.push(list_batches(&store, n, sample)?);
    timed.push(page_through(&store, n)?);
    let namespaces = n / PER_NAMESPACE;
    let quarter = (namespaces / 4).max(1).min(sample.div_ceil(PER_NAMESPACE));
    let rest = (namespaces - 2 * quarter).min(sample.div_ceil(PER_NAMESPACE));
    timed.push(collect_garbage(&store, 0..quarter)?);
    timed.push(delete_namespaces(&store, quarter..2 * quarter)?);
    timed.push(delete_each(&store, 2 * quarter..2 * quarter + rest)?);
    let micros = timed.iter().map(Timed::micros_per_object).collect();
    drop(store);
    Ok(Measured { n, micros, heap_bytes_per_object, rss_bytes_per_object, total: began.elapsed() })
}

/// The shape of a stored dependent ConfigMap of the bench.
fn stored_shape() -> Result<Shape, Error> {
    let store = Store::new(StoreConfig::default())?;
    store.create(&namespaces(), json!({"metadata": {"name": namespace_of(0)}}), writer())?;
    let owner = store.create(&configmaps(Some(&namespace_of(0))), configmap(0, PER_NAMESPACE, None), writer())?;
    let body = configmap(1, PER_NAMESPACE, Some(meta::uid(&owner)));
    Ok(Shape::of(&store.create(&configmaps(Some(&namespace_of(1))), body, writer())?))
}

fn print_table(results: &[Measured]) {
    let header: Vec<String> = results.iter().map(|m| format!("{:>11}", format!("N={}", m.n))).collect();
    let ratio_label = match (results.first(), results.last()) {
        (Some(first), Some(last)) if results.len() > 1 => format!("{}/{}", last.n, first.n),
        _ => String::new(),
    };
    println!("\nµs per object{:>17}{} {ratio_label:>12}", "", header.join(""));
    for (row, phase) in PHASES.iter().enumerate() {
        let cells: Vec<String> = results.iter().map(|m| format!("{:>11.2}", m.micros[row])).collect();
        let ratio = match (results.first(), results.last()) {
            (Some(first), Some(last)) if results.len() > 1 => format!("{:>12.2}", last.micros[row] / first.micros[row]),
            _ => String::new(),
        };
        println!("{phase:<30}{}{ratio}", cells.join(""));
    }
    let heap: Vec<String> = results.iter().map(|m| format!("{:>11.0}", m.heap_bytes_per_object)).collect();
    println!("{:<30}{}", "heap bytes per object", heap.join(""));
    let rss: Vec<String> = results.iter().map(|m| format!("{:>11.0}", m.rss_bytes_per_object)).collect();
    println!("{:<30}{}", "RSS bytes per object", rss.join(""));
    let total: Vec<String> = results.iter().map(|m| format!("{:>11.1}", m.total.as_secs_f64())).collect();
    println!("{:<30}{}", "seconds for the whole run", total.join(""));
}

fn main() -> Result<(), Error> {
    let sample = sample()?;
    let sizes = sizes()?;
    let mut results = Vec::new();
    let shape = stored_shape()?;
    println!(
        "one stored ConfigMap (a dependent, with managedFields): {} bytes as JSON, {} non-empty JSON objects",
        shape.json_bytes, shape.maps
    );
    for n in sizes {
        let measured = measure(n, sample)?;
        eprintln!("N={n}: done in {:.1} s", measured.total.as_secs_f64());
        results.push(measured);
    }
    print_table(&results);
    Ok(())
}
