//! The topology DSL (Kafka Streams' `StreamsBuilder`, `KStream`, `KGroupedStream`,
//! `KTable`) over a type-erased processor graph.
//!
//! Each operator becomes a node whose closure knows its own input and output types and
//! passes records to its children by reference, so a stream used twice needs no
//! `Clone`. Key-changing operators followed by a grouping write to an internal
//! repartition topic (`<application_id>-<name>-repartition`), as Kafka Streams does, so
//! each key is aggregated by exactly one task.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::marker::PhantomData;
use std::sync::Arc;

use parking_lot::Mutex;

use super::serde::Serde;
use super::window::{EmitStrategy, TimeWindows, Windowed};
use crate::{Error, ProducerRecord, Result};

pub(crate) type Forward<'a> = dyn FnMut(&mut Ctx, &dyn Any, &dyn Any, i64) -> Result<()> + 'a;
type ProcFn =
    Box<dyn Fn(&mut Ctx, &dyn Any, &dyn Any, i64, &mut Forward<'_>) -> Result<()> + Send + Sync>;
type DeserFn = Box<
    dyn Fn(Option<&[u8]>, Option<&[u8]>) -> Result<(Box<dyn Any + Send>, Box<dyn Any + Send>)>
        + Send
        + Sync,
>;

/// A boxed predicate for [`KStream::branch`].
pub type Predicate<K, V> = Box<dyn Fn(&K, &V) -> bool + Send + Sync>;

pub(crate) struct Node {
    proc: ProcFn,
    children: Vec<usize>,
}

/// A topic the topology reads; `internal` topics are prefixed with the application id.
pub(crate) struct SourceDef {
    pub(crate) topic: String,
    pub(crate) internal: bool,
    pub(crate) node: usize,
    deser: DeserFn,
}

/// A state store: its changelog partitions follow the partitions of its sub-topology
/// (the task of partition N writes changelog partition N).
#[derive(Debug, Clone)]
pub(crate) struct StoreDef {
    pub(crate) name: String,
    /// A source of the store's sub-topology.
    pub(crate) source: usize,
    /// For a windowed store: its windows and when it emits.
    pub(crate) windowed: Option<(TimeWindows, EmitStrategy)>,
}

#[derive(Default)]
pub(crate) struct Graph {
    nodes: Vec<Node>,
    pub(crate) sources: Vec<SourceDef>,
    pub(crate) stores: Vec<StoreDef>,
    pub(crate) sinks: Vec<String>,
    repartitions: usize,
}

/// One state store shard (a store of one task) in memory: serialised key -> value.
/// Keys of a windowed store end with the window start (8 bytes, big-endian).
#[derive(Debug)]
pub(crate) struct Shard {
    pub(crate) data: HashMap<Vec<u8>, Vec<u8>>,
    /// Largest timestamp a windowed store has seen (`i64::MIN`: none yet).
    pub(crate) stream_time: i64,
    /// Windows not yet emitted under `OnWindowClose`: end -> store keys. Sorted, so
    /// finals come out in (window end, key) order, also after a restore.
    pub(crate) open: BTreeMap<i64, BTreeSet<Vec<u8>>>,
}

impl Default for Shard {
    fn default() -> Self {
        Shard {
            data: HashMap::new(),
            stream_time: i64::MIN,
            open: BTreeMap::new(),
        }
    }
}

impl Shard {
    /// After a restore: every window in the store that stream time has not closed yet
    /// (end + grace > stream time) waits for its final result again. Windows it has
    /// closed emitted theirs before the commit that recorded this stream time.
    pub(crate) fn reopen_windows(&mut self, w: &TimeWindows) {
        self.open.clear();
        for sk in self.data.keys() {
            let Some(start) = sk
                .len()
                .checked_sub(8)
                .and_then(|at| sk[at..].try_into().ok())
                .map(i64::from_be_bytes)
            else {
                continue;
            };
            let end = start.saturating_add(w.size_ms);
            if end.saturating_add(w.grace_ms) > self.stream_time {
                self.open.entry(end).or_default().insert(sk.clone());
            }
        }
    }
}

/// Per-task processing context.
pub(crate) struct Ctx<'a> {
    pub(crate) app_id: &'a str,
    pub(crate) partition: u32,
    pub(crate) stores: &'a mut HashMap<String, Shard>,
    pub(crate) out: &'a mut Vec<ProducerRecord>,
    pub(crate) dropped_late: &'a mut u64,
}

impl Ctx<'_> {
    fn shard(&mut self, name: &str) -> &mut Shard {
        self.stores.entry(name.to_string()).or_default()
    }

    /// The value stored under `key` in `store`, decoded.
    fn load<A: 'static>(
        &mut self,
        store: &str,
        key: &[u8],
        serde: &dyn Serde<A>,
    ) -> Result<Option<A>> {
        match self.shard(store).data.get(key) {
            None => Ok(None),
            Some(b) => serde
                .deserialize(b)
                .map(Some)
                .map_err(|e| store_error(self.app_id, self.partition, store, e)),
        }
    }

    /// Stores `value` under `key` in `store` and logs it to the store's changelog
    /// partition (this task's partition).
    fn save(&mut self, store: &str, key: Vec<u8>, value: Vec<u8>, ts: i64) {
        self.shard(store).data.insert(key.clone(), value.clone());
        self.out.push(
            ProducerRecord::new(changelog_topic(self.app_id, store))
                .partition(self.partition)
                .key(key)
                .value(value)
                .timestamp(ts),
        );
    }
}

fn cast<T: 'static>(x: &dyn Any) -> Result<&T> {
    x.downcast_ref::<T>().ok_or_else(|| {
        Error::IllegalState(format!(
            "internal: streams record type mismatch, expected {}; please report this",
            std::any::type_name::<T>()
        ))
    })
}

/// A serde's message as an error to carry as a source.
fn message(m: String) -> Arc<dyn std::error::Error + Send + Sync> {
    let b: Box<dyn std::error::Error + Send + Sync> = m.into();
    Arc::from(b)
}

/// A value of `store` that its serde cannot read.
fn store_error(app: &str, partition: u32, store: &str, e: String) -> Error {
    Error::Task {
        task: format!("streams application `{app}` (partition {partition})"),
        reason: format!(
            "cannot deserialise a value of store `{store}` (its serdes changed since it was written?)"
        ),
        source: message(e),
    }
}

pub(crate) fn changelog_topic(app: &str, store: &str) -> String {
    format!("{app}-{store}-changelog")
}

impl Graph {
    fn add(&mut self, proc: ProcFn) -> usize {
        self.nodes.push(Node {
            proc,
            children: Vec::new(),
        });
        self.nodes.len() - 1
    }

    fn link(&mut self, parent: usize, child: usize) {
        self.nodes[parent].children.push(child);
    }

    /// The sub-topology of each source (Kafka Streams' node groups): sources whose
    /// records meet in a node (through `merge`, say) belong to one sub-topology, whose
    /// task N owns partition N of each. Repartition topics separate sub-topologies.
    /// Numbered by their first source, as Kafka numbers them in topic order.
    pub(crate) fn sub_topologies(&self) -> Vec<usize> {
        // Union-find over nodes: a node joins the set of each child.
        let mut parent: Vec<usize> = (0..self.nodes.len()).collect();
        fn find(parent: &mut [usize], mut x: usize) -> usize {
            while parent[x] != x {
                parent[x] = parent[parent[x]];
                x = parent[x];
            }
            x
        }
        for (id, node) in self.nodes.iter().enumerate() {
            for &c in &node.children {
                let (a, b) = (find(&mut parent, id), find(&mut parent, c));
                parent[a] = b;
            }
        }
        let mut ids: HashMap<usize, usize> = HashMap::new();
        self.sources
            .iter()
            .map(|s| {
                let root = find(&mut parent, s.node);
                let next = ids.len();
                *ids.entry(root).or_insert(next)
            })
            .collect()
    }

    /// Runs a record through node `id` and everything downstream of it.
    pub(crate) fn run(
        &self,
        id: usize,
        ctx: &mut Ctx<'_>,
        k: &dyn Any,
        v: &dyn Any,
        ts: i64,
    ) -> Result<()> {
        let node = &self.nodes[id];
        (node.proc)(ctx, k, v, ts, &mut |ctx, k2, v2, ts2| {
            for &c in &node.children {
                self.run(c, ctx, k2, v2, ts2)?;
            }
            Ok(())
        })
    }

    /// Deserialises a record of source `i` and runs it.
    pub(crate) fn process(
        &self,
        i: usize,
        ctx: &mut Ctx<'_>,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        ts: i64,
    ) -> Result<()> {
        let s = &self.sources[i];
        let (k, v) = (s.deser)(key, value)?;
        self.run(s.node, ctx, &*k, &*v, ts)
    }
}

/// Builds a processing topology (Kafka Streams' `StreamsBuilder`).
///
/// ```
/// use brooklet::streams::{I64, StreamsBuilder, Utf8};
/// let builder = StreamsBuilder::new();
/// builder
///     .stream("words", Utf8, Utf8)
///     .group_by(|_, word: &String| word.to_lowercase(), Utf8, Utf8)
///     .count("word-counts")
///     .to_stream()
///     .to("word-counts-out", Utf8, I64);
/// let topology = builder.build();
/// # let _ = topology;
/// ```
#[derive(Clone, Default)]
pub struct StreamsBuilder {
    g: Arc<Mutex<Graph>>,
}

/// A built topology, ready for [`KafkaStreams`](super::KafkaStreams).
pub struct Topology {
    pub(crate) graph: Arc<Graph>,
}

impl std::fmt::Debug for Topology {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Topology")
            .field(
                "sources",
                &self
                    .graph
                    .sources
                    .iter()
                    .map(|s| &s.topic)
                    .collect::<Vec<_>>(),
            )
            .field(
                "stores",
                &self
                    .graph
                    .stores
                    .iter()
                    .map(|s| &s.name)
                    .collect::<Vec<_>>(),
            )
            .field("sinks", &self.graph.sinks)
            .finish()
    }
}

fn source_deser<K: Send + 'static, V: Send + 'static>(
    ks: Arc<dyn Serde<K>>,
    vs: Arc<dyn Serde<V>>,
    topic: String,
) -> DeserFn {
    Box::new(move |k, v| {
        let bad = |what: &str, e: String| Error::Task {
            task: format!("streams source `{topic}`"),
            reason: format!(
                "cannot deserialise the {what} of a record (check the source's serdes, or skip such records with `OnError::Continue`)"
            ),
            source: message(e),
        };
        let key = match k {
            Some(b) => ks.deserialize(b),
            None => ks.deserialize_null(),
        }
        .map_err(|e| bad("key", e))?;
        let value = match v {
            Some(b) => vs.deserialize(b),
            None => vs.deserialize_null(),
        }
        .map_err(|e| bad("value", e))?;
        Ok((
            Box::new(key) as Box<dyn Any + Send>,
            Box::new(value) as Box<dyn Any + Send>,
        ))
    })
}

impl StreamsBuilder {
    /// An empty topology.
    pub fn new() -> Self {
        Self::default()
    }

    /// A stream of the records of `topic`, typed by the two serdes.
    pub fn stream<K, V>(
        &self,
        topic: &str,
        key: impl Serde<K>,
        value: impl Serde<V>,
    ) -> KStream<K, V>
    where
        K: Send + Sync + 'static,
        V: Send + Sync + 'static,
    {
        let mut g = self.g.lock();
        let node = g.add(Box::new(|ctx, k, v, ts, fwd| fwd(ctx, k, v, ts)));
        let deser = source_deser(Arc::new(key), Arc::new(value), topic.to_string());
        g.sources.push(SourceDef {
            topic: topic.to_string(),
            internal: false,
            node,
            deser,
        });
        let source = g.sources.len() - 1;
        drop(g);
        KStream::new(self.g.clone(), node, false, source)
    }

    /// Finishes the topology.
    pub fn build(self) -> Topology {
        let g = std::mem::take(&mut *self.g.lock());
        Topology { graph: Arc::new(g) }
    }
}

/// A stream of keyed records (Kafka Streams' `KStream<K, V>`).
pub struct KStream<K, V> {
    g: Arc<Mutex<Graph>>,
    node: usize,
    key_changed: bool,
    /// The source this stream descends from (state stores shard by its partitions).
    source: usize,
    _t: PhantomData<fn() -> (K, V)>,
}

impl<K, V> Clone for KStream<K, V> {
    fn clone(&self) -> Self {
        KStream::new(self.g.clone(), self.node, self.key_changed, self.source)
    }
}

impl<K, V> KStream<K, V> {
    fn new(g: Arc<Mutex<Graph>>, node: usize, key_changed: bool, source: usize) -> Self {
        KStream {
            g,
            node,
            key_changed,
            source,
            _t: PhantomData,
        }
    }
}

impl<K: Send + Sync + 'static, V: Send + Sync + 'static> KStream<K, V> {
    fn child<K2: Send + Sync + 'static, V2: Send + Sync + 'static>(
        &self,
        proc: ProcFn,
        key_changed: bool,
    ) -> KStream<K2, V2> {
        let mut g = self.g.lock();
        let id = g.add(proc);
        g.link(self.node, id);
        drop(g);
        KStream::new(
            self.g.clone(),
            id,
            self.key_changed || key_changed,
            self.source,
        )
    }

    /// A new key and value for each record.
    pub fn map<K2: Send + Sync + 'static, V2: Send + Sync + 'static>(
        &self,
        f: impl Fn(&K, &V) -> (K2, V2) + Send + Sync + 'static,
    ) -> KStream<K2, V2> {
        self.child(
            Box::new(move |ctx, k, v, ts, fwd| {
                let (k2, v2) = f(cast::<K>(k)?, cast::<V>(v)?);
                fwd(ctx, &k2, &v2, ts)
            }),
            true,
        )
    }

    /// A new value for each record; the key (and so the partitioning) is kept.
    pub fn map_values<V2: Send + Sync + 'static>(
        &self,
        f: impl Fn(&V) -> V2 + Send + Sync + 'static,
    ) -> KStream<K, V2> {
        self.child(
            Box::new(move |ctx, k, v, ts, fwd| {
                let v2 = f(cast::<V>(v)?);
                fwd(ctx, k, &v2, ts)
            }),
            false,
        )
    }

    /// Keeps the records for which `f` is true.
    pub fn filter(&self, f: impl Fn(&K, &V) -> bool + Send + Sync + 'static) -> KStream<K, V> {
        self.child(
            Box::new(move |ctx, k, v, ts, fwd| {
                if f(cast::<K>(k)?, cast::<V>(v)?) {
                    fwd(ctx, k, v, ts)?;
                }
                Ok(())
            }),
            false,
        )
    }

    /// Zero or more records for each record.
    pub fn flat_map<K2, V2, I>(
        &self,
        f: impl Fn(&K, &V) -> I + Send + Sync + 'static,
    ) -> KStream<K2, V2>
    where
        K2: Send + Sync + 'static,
        V2: Send + Sync + 'static,
        I: IntoIterator<Item = (K2, V2)>,
    {
        self.child(
            Box::new(move |ctx, k, v, ts, fwd| {
                for (k2, v2) in f(cast::<K>(k)?, cast::<V>(v)?) {
                    fwd(ctx, &k2, &v2, ts)?;
                }
                Ok(())
            }),
            true,
        )
    }

    /// Splits the stream: each record goes to the first branch whose predicate holds
    /// (Kafka's `branch`); records matching none are dropped.
    pub fn branch(&self, predicates: Vec<Predicate<K, V>>) -> Vec<KStream<K, V>> {
        let preds = Arc::new(predicates);
        (0..preds.len())
            .map(|i| {
                let preds = Arc::clone(&preds);
                self.child(
                    Box::new(move |ctx, k, v, ts, fwd| {
                        let (kk, vv) = (cast::<K>(k)?, cast::<V>(v)?);
                        if preds.iter().position(|p| p(kk, vv)) == Some(i) {
                            fwd(ctx, k, v, ts)?;
                        }
                        Ok(())
                    }),
                    false,
                )
            })
            .collect()
    }

    /// One stream of the records of both.
    pub fn merge(&self, other: &KStream<K, V>) -> KStream<K, V> {
        let merged: KStream<K, V> = self.child(
            Box::new(|ctx, k, v, ts, fwd| fwd(ctx, k, v, ts)),
            other.key_changed,
        );
        self.g.lock().link(other.node, merged.node);
        merged
    }

    /// Calls `f` on each record and passes it on.
    pub fn peek(&self, f: impl Fn(&K, &V) + Send + Sync + 'static) -> KStream<K, V> {
        self.child(
            Box::new(move |ctx, k, v, ts, fwd| {
                f(cast::<K>(k)?, cast::<V>(v)?);
                fwd(ctx, k, v, ts)
            }),
            false,
        )
    }

    /// Calls `f` on each record (a terminal operation).
    pub fn foreach(&self, f: impl Fn(&K, &V) + Send + Sync + 'static) {
        let _: KStream<K, V> = self.child(
            Box::new(move |_, k, v, _, _| {
                f(cast::<K>(k)?, cast::<V>(v)?);
                Ok(())
            }),
            false,
        );
    }

    /// Writes the records to `topic` (partitioned by key with Kafka's murmur2), with
    /// the record's timestamp.
    pub fn to(&self, topic: &str, key: impl Serde<K>, value: impl Serde<V>) {
        let t = topic.to_string();
        self.g.lock().sinks.push(t.clone());
        let _: KStream<K, V> = self.child(
            Box::new(move |ctx, k, v, ts, _| {
                ctx.out.push(
                    ProducerRecord::new(t.clone())
                        .key(key.serialize(cast::<K>(k)?))
                        .value(value.serialize(cast::<V>(v)?))
                        .timestamp(ts),
                );
                Ok(())
            }),
            false,
        );
    }

    /// Groups by the current key (repartitioning first if an earlier operator changed
    /// the key), for aggregations.
    pub fn group_by_key(&self, key: impl Serde<K>, value: impl Serde<V>) -> KGroupedStream<K, V> {
        if self.key_changed {
            self.repartition(Arc::new(key), Arc::new(value))
        } else {
            KGroupedStream {
                stream: self.clone(),
                key: Arc::new(key),
                value: Arc::new(value),
            }
        }
    }

    /// Groups by a new key computed from each record, through a repartition topic.
    pub fn group_by<K2: Send + Sync + 'static>(
        &self,
        f: impl Fn(&K, &V) -> K2 + Send + Sync + 'static,
        key: impl Serde<K2>,
        value: impl Serde<V>,
    ) -> KGroupedStream<K2, V>
    where
        V: Clone,
    {
        let rekeyed: KStream<K2, V> = self.child(
            Box::new(move |ctx, k, v, ts, fwd| {
                let vv = cast::<V>(v)?;
                let k2 = f(cast::<K>(k)?, vv);
                fwd(ctx, &k2, vv, ts)
            }),
            true,
        );
        rekeyed.repartition(Arc::new(key), Arc::new(value))
    }

    fn repartition(
        &self,
        key: Arc<dyn Serde<K>>,
        value: Arc<dyn Serde<V>>,
    ) -> KGroupedStream<K, V> {
        let mut g = self.g.lock();
        g.repartitions += 1;
        let name = format!("repartition-{}", g.repartitions);
        drop(g);
        let (ks, vs) = (Arc::clone(&key), Arc::clone(&value));
        let n2 = name.clone();
        let _: KStream<K, V> = self.child(
            Box::new(move |ctx, k, v, ts, _| {
                ctx.out.push(
                    ProducerRecord::new(format!("{}-{n2}", ctx.app_id))
                        .key(ks.serialize(cast::<K>(k)?))
                        .value(vs.serialize(cast::<V>(v)?))
                        .timestamp(ts),
                );
                Ok(())
            }),
            false,
        );
        let mut g = self.g.lock();
        let node = g.add(Box::new(|ctx, k, v, ts, fwd| fwd(ctx, k, v, ts)));
        let deser = source_deser(Arc::clone(&key), Arc::clone(&value), name.clone());
        g.sources.push(SourceDef {
            topic: name,
            internal: true,
            node,
            deser,
        });
        let source = g.sources.len() - 1;
        drop(g);
        KGroupedStream {
            stream: KStream::new(self.g.clone(), node, false, source),
            key,
            value,
        }
    }
}

/// A stream grouped by key, ready to aggregate (Kafka Streams' `KGroupedStream`).
pub struct KGroupedStream<K, V> {
    stream: KStream<K, V>,
    key: Arc<dyn Serde<K>>,
    value: Arc<dyn Serde<V>>,
}

impl<K: Send + Sync + 'static, V: Send + Sync + 'static> KGroupedStream<K, V> {
    fn add_store(&self, store: &str, windowed: Option<(TimeWindows, EmitStrategy)>) {
        self.stream.g.lock().stores.push(StoreDef {
            name: store.to_string(),
            source: self.stream.source,
            windowed,
        });
    }

    /// Folds each key's records into an aggregate kept in state store `store` (backed by
    /// the changelog topic `<application_id>-<store>-changelog`); every update flows on.
    pub fn aggregate<A: Send + Sync + 'static>(
        &self,
        store: &str,
        init: impl Fn() -> A + Send + Sync + 'static,
        f: impl Fn(&K, &V, A) -> A + Send + Sync + 'static,
        agg: impl Serde<A>,
    ) -> KTable<K, A> {
        self.add_store(store, None);
        let (ks, name) = (Arc::clone(&self.key), store.to_string());
        let node: KStream<K, A> = self.stream.child(
            Box::new(move |ctx, k, v, ts, fwd| {
                let kk = cast::<K>(k)?;
                let kb = ks.serialize(kk);
                let old = ctx.load(&name, &kb, &agg)?.unwrap_or_else(&init);
                let new = f(kk, cast::<V>(v)?, old);
                ctx.save(&name, kb, agg.serialize(&new), ts);
                fwd(ctx, k, &new, ts)
            }),
            false,
        );
        KTable { stream: node }
    }

    /// Counts records per key.
    pub fn count(&self, store: &str) -> KTable<K, i64> {
        self.aggregate(store, || 0i64, |_, _, n| n + 1, super::serde::I64)
    }

    /// Combines each key's values with `f` (the first value of a key is kept as is).
    pub fn reduce(
        &self,
        store: &str,
        f: impl Fn(&V, &V) -> V + Send + Sync + 'static,
    ) -> KTable<K, V>
    where
        V: Clone,
    {
        self.add_store(store, None);
        let (ks, vs, name) = (
            Arc::clone(&self.key),
            Arc::clone(&self.value),
            store.to_string(),
        );
        let node: KStream<K, V> = self.stream.child(
            Box::new(move |ctx, k, v, ts, fwd| {
                let kb = ks.serialize(cast::<K>(k)?);
                let vv = cast::<V>(v)?;
                let new = match ctx.load(&name, &kb, &*vs)? {
                    Some(old) => f(&old, vv),
                    None => vv.clone(),
                };
                ctx.save(&name, kb, vs.serialize(&new), ts);
                fwd(ctx, k, &new, ts)
            }),
            false,
        );
        KTable { stream: node }
    }

    /// Aggregates per key and event-time window.
    pub fn windowed_by(&self, windows: TimeWindows) -> TimeWindowedKStream<K, V> {
        TimeWindowedKStream {
            grouped: KGroupedStream {
                stream: self.stream.clone(),
                key: Arc::clone(&self.key),
                value: Arc::clone(&self.value),
            },
            windows,
            emit: EmitStrategy::OnUpdate,
        }
    }
}

/// A windowed grouped stream (Kafka Streams' `TimeWindowedKStream`).
pub struct TimeWindowedKStream<K, V> {
    grouped: KGroupedStream<K, V>,
    windows: TimeWindows,
    emit: EmitStrategy,
}

impl<K: Clone + Send + Sync + 'static, V: Send + Sync + 'static> TimeWindowedKStream<K, V> {
    /// When results flow downstream. Default: every update.
    #[must_use]
    pub fn emit(mut self, strategy: EmitStrategy) -> Self {
        self.emit = strategy;
        self
    }

    /// Folds each (key, window)'s records into an aggregate. Records arriving after
    /// their window's end plus grace (in stream time: the largest timestamp this task
    /// has seen) are dropped as late, as in Kafka Streams.
    pub fn aggregate<A: Send + Sync + 'static>(
        &self,
        store: &str,
        init: impl Fn() -> A + Send + Sync + 'static,
        f: impl Fn(&K, &V, A) -> A + Send + Sync + 'static,
        agg: impl Serde<A>,
    ) -> KTable<Windowed<K>, A> {
        self.grouped
            .add_store(store, Some((self.windows, self.emit)));
        let (ks, name, w, emit) = (
            Arc::clone(&self.grouped.key),
            store.to_string(),
            self.windows,
            self.emit,
        );
        let node: KStream<Windowed<K>, A> = self.grouped.stream.child(
            Box::new(move |ctx, k, v, ts, fwd| {
                let kk = cast::<K>(k)?;
                let vv = cast::<V>(v)?;
                let kb = ks.serialize(kk);
                let stream_time = {
                    let shard = ctx.shard(&name);
                    shard.stream_time = shard.stream_time.max(ts);
                    shard.stream_time
                };
                let mut counted = false;
                for start in w.windows_for(ts) {
                    let end = start.saturating_add(w.size_ms);
                    if end.saturating_add(w.grace_ms) <= stream_time {
                        continue; // late: its window is closed
                    }
                    counted = true;
                    let mut sk = kb.clone();
                    sk.extend_from_slice(&start.to_be_bytes());
                    let old = match ctx.load(&name, &sk, &agg)? {
                        Some(old) => old,
                        None => {
                            if emit == EmitStrategy::OnWindowClose {
                                ctx.shard(&name)
                                    .open
                                    .entry(end)
                                    .or_default()
                                    .insert(sk.clone());
                            }
                            init()
                        }
                    };
                    let new = f(kk, vv, old);
                    ctx.save(&name, sk, agg.serialize(&new), ts);
                    if emit == EmitStrategy::OnUpdate {
                        let wk = Windowed {
                            key: kk.clone(),
                            start,
                            end,
                        };
                        fwd(ctx, &wk, &new, ts)?;
                    }
                }
                if !counted {
                    *ctx.dropped_late += 1;
                }
                if emit == EmitStrategy::OnWindowClose {
                    // Emit every window whose end plus grace stream time has passed.
                    let (app_id, partition) = (ctx.app_id, ctx.partition);
                    let shard = ctx.shard(&name);
                    let now = shard.stream_time;
                    let closed: Vec<(i64, BTreeSet<Vec<u8>>)> = {
                        let first_open = now.saturating_sub(w.grace_ms).saturating_add(1);
                        let keep = shard.open.split_off(&first_open);
                        let done = std::mem::replace(&mut shard.open, keep);
                        done.into_iter().collect()
                    };
                    let mut finals = Vec::new();
                    for (end, keys) in closed {
                        for sk in keys {
                            let Some(b) = shard.data.get(&sk) else {
                                continue;
                            };
                            let val = agg
                                .deserialize(b)
                                .map_err(|e| store_error(app_id, partition, &name, e))?;
                            let key = ks
                                .deserialize(&sk[..sk.len() - 8])
                                .map_err(|e| store_error(app_id, partition, &name, e))?;
                            finals.push((
                                Windowed {
                                    key,
                                    start: end - w.size_ms,
                                    end,
                                },
                                val,
                            ));
                        }
                    }
                    for (wk, val) in finals {
                        fwd(ctx, &wk, &val, wk.end - 1)?;
                    }
                }
                Ok(())
            }),
            false,
        );
        KTable { stream: node }
    }

    /// Counts records per key and window.
    pub fn count(&self, store: &str) -> KTable<Windowed<K>, i64> {
        self.aggregate(store, || 0i64, |_, _, n| n + 1, super::serde::I64)
    }
}

/// A changelog stream of per-key aggregates (Kafka Streams' `KTable`).
pub struct KTable<K, V> {
    stream: KStream<K, V>,
}

impl<K: Send + Sync + 'static, V: Send + Sync + 'static> KTable<K, V> {
    /// The stream of the table's updates.
    pub fn to_stream(&self) -> KStream<K, V> {
        self.stream.clone()
    }
}
