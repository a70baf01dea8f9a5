//! Process-wide state shared by several VMs (Envoy's workers): shared data with one global CAS
//! counter, shared queues, and metric values.

use crate::abi::Status;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// State shared by every [`Host`](crate::Host) built with it, like Envoy's process-wide shared
/// data, shared queues and stats store. Cheap to clone (an `Arc`).
///
/// Hosts built without [`HostBuilder::shared_state`](crate::HostBuilder::shared_state) get a
/// fresh one each, so parallel tests never see each other's data.
///
/// ```
/// let shared = wasme_harness::SharedState::new();
/// assert_eq!(shared.set_shared_data("vm", "k", b"v", 0), Ok(()));
/// let (value, cas) = shared.get_shared_data("vm", "k").unwrap();
/// assert_eq!((value.as_slice(), cas), (&b"v"[..], 1));
/// ```
#[derive(Clone)]
pub struct SharedState {
    inner: Arc<Mutex<SharedInner>>,
    /// The lock-free count of waiting notifications (the same `Arc` as `SharedInner::pending`).
    pending: Arc<AtomicUsize>,
}

impl Default for SharedState {
    fn default() -> Self {
        let pending = Arc::new(AtomicUsize::new(0));
        SharedState {
            inner: Arc::new(Mutex::new(SharedInner {
                pending: pending.clone(),
                ..Default::default()
            })),
            pending,
        }
    }
}

impl std::fmt::Debug for SharedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedState").finish_non_exhaustive()
    }
}

static NEXT_HOST_ID: AtomicU64 = AtomicU64::new(1);

/// A process-unique id for a host, so queue notifications reach the right one.
pub(crate) fn next_host_id() -> u64 {
    NEXT_HOST_ID.fetch_add(1, Ordering::Relaxed)
}

#[derive(Default)]
pub(crate) struct SharedInner {
    data: HashMap<(String, String), (Vec<u8>, u32)>,
    last_cas: u32,
    queue_ids: HashMap<(String, String), u32>,
    queues: HashMap<u32, Queue>,
    next_queue_id: u32,
    /// Queue-ready notifications waiting for a host: host id → (root context id, queue id).
    notifications: HashMap<u64, Vec<(u32, u32)>>,
    /// How many notifications wait, for any host; readable without the lock (see
    /// [`SharedState::may_have_notifications`]).
    pending: Arc<AtomicUsize>,
    pub(crate) metric_values: HashMap<String, MetricValue>,
    /// Bytes the shared data holds, as [`HostLimits`](crate::HostLimits) counts them.
    data_bytes: usize,
}

struct Queue {
    owner_host: u64,
    owner_root: u32,
    items: VecDeque<Vec<u8>>,
    /// Bytes waiting, as [`HostLimits`](crate::HostLimits) counts them.
    bytes: usize,
}

/// What an entry costs against the limits: its bytes plus a fixed overhead, so empty entries
/// are not free.
pub(crate) const ENTRY_OVERHEAD: usize = 64;

/// The value of a metric, by type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricValue {
    /// A counter's total.
    Counter(u64),
    /// A gauge's current value.
    Gauge(i64),
    /// Every value recorded into a histogram, in order.
    Histogram(Vec<u64>),
}

impl SharedState {
    /// A fresh, empty shared state.
    pub fn new() -> SharedState {
        SharedState::default()
    }

    /// False when no host has a queue notification waiting: checked after every operation
    /// without taking the lock.
    pub(crate) fn may_have_notifications(&self) -> bool {
        self.pending.load(Ordering::Acquire) > 0
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, SharedInner> {
        // A panic while holding the lock leaves consistent data (every update is one step).
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads shared data of VM `vm_id`: the value and its CAS, or `None` if missing.
    pub fn get_shared_data(&self, vm_id: &str, key: &str) -> Option<(Vec<u8>, u32)> {
        self.lock()
            .data
            .get(&(vm_id.to_string(), key.to_string()))
            .cloned()
    }

    /// Writes shared data with Envoy's rule: if the key exists and `cas` is neither 0 nor the
    /// stored CAS → `Err(Status::CasMismatch)`; otherwise stored with a new CAS from the one
    /// global counter (starting at 1, never 0).
    pub fn set_shared_data(
        &self,
        vm_id: &str,
        key: &str,
        value: &[u8],
        cas: u32,
    ) -> Result<(), Status> {
        self.lock().set_data(vm_id, key, value, cas)
    }

    /// The number of items waiting in queue `queue_id`, `None` if no such queue.
    pub fn queue_len(&self, queue_id: u32) -> Option<usize> {
        self.lock().queues.get(&queue_id).map(|q| q.items.len())
    }
}

impl SharedInner {
    pub(crate) fn get_data(&self, vm_id: &str, key: &str) -> Option<(Vec<u8>, u32)> {
        self.data
            .get(&(vm_id.to_string(), key.to_string()))
            .cloned()
    }

    pub(crate) fn set_data(
        &mut self,
        vm_id: &str,
        key: &str,
        value: &[u8],
        cas: u32,
    ) -> Result<(), Status> {
        let k = (vm_id.to_string(), key.to_string());
        if let Some((_, stored)) = self.data.get(&k)
            && cas != 0
            && cas != *stored
        {
            return Err(Status::CasMismatch);
        }
        self.last_cas = self.last_cas.wrapping_add(1);
        if self.last_cas == 0 {
            self.last_cas = 1;
        }
        let added = k.0.len() + k.1.len() + value.len() + ENTRY_OVERHEAD;
        if let Some((old, _)) = self.data.insert(k, (value.to_vec(), self.last_cas)) {
            self.data_bytes -= vm_id.len() + key.len() + old.len() + ENTRY_OVERHEAD;
        }
        self.data_bytes += added;
        Ok(())
    }

    /// The shared-data bytes after storing `value_len` bytes under `key` of `vm_id`.
    pub(crate) fn data_bytes_after(&self, vm_id: &str, key: &str, value_len: usize) -> usize {
        let old = self
            .data
            .get(&(vm_id.to_string(), key.to_string()))
            .map_or(0, |(v, _)| {
                vm_id.len() + key.len() + v.len() + ENTRY_OVERHEAD
            });
        self.data_bytes - old + vm_id.len() + key.len() + value_len + ENTRY_OVERHEAD
    }

    /// How many queues exist.
    pub(crate) fn queue_count(&self) -> usize {
        self.queues.len()
    }

    /// The bytes waiting in queue `id` after enqueuing `len` more (None: no such queue).
    pub(crate) fn queue_bytes_after(&self, id: u32, len: usize) -> Option<usize> {
        self.queues.get(&id).map(|q| q.bytes + len + ENTRY_OVERHEAD)
    }

    /// Registers (or re-binds) queue `name` of `vm_id` to the caller's root; returns its id.
    pub(crate) fn register_queue(&mut self, vm_id: &str, name: &str, host: u64, root: u32) -> u32 {
        let key = (vm_id.to_string(), name.to_string());
        if let Some(id) = self.queue_ids.get(&key).copied() {
            if let Some(q) = self.queues.get_mut(&id) {
                q.owner_host = host;
                q.owner_root = root;
            }
            return id;
        }
        self.next_queue_id += 1;
        let id = self.next_queue_id;
        self.queue_ids.insert(key, id);
        self.queues.insert(
            id,
            Queue {
                owner_host: host,
                owner_root: root,
                items: VecDeque::new(),
                bytes: 0,
            },
        );
        id
    }

    pub(crate) fn resolve_queue(&self, vm_id: &str, name: &str) -> Option<u32> {
        self.queue_ids
            .get(&(vm_id.to_string(), name.to_string()))
            .copied()
    }

    /// Enqueues and records a notification for the owner; `Err(NotFound)` for an unknown id.
    pub(crate) fn enqueue(&mut self, id: u32, data: &[u8]) -> Result<(), Status> {
        let q = self.queues.get_mut(&id).ok_or(Status::NotFound)?;
        q.items.push_back(data.to_vec());
        q.bytes += data.len() + ENTRY_OVERHEAD;
        let (host, root) = (q.owner_host, q.owner_root);
        self.notifications.entry(host).or_default().push((root, id));
        self.pending.fetch_add(1, Ordering::Release);
        Ok(())
    }

    pub(crate) fn dequeue(&mut self, id: u32) -> Result<Vec<u8>, Status> {
        let q = self.queues.get_mut(&id).ok_or(Status::NotFound)?;
        let item = q.items.pop_front().ok_or(Status::Empty)?;
        q.bytes -= item.len() + ENTRY_OVERHEAD;
        Ok(item)
    }

    /// Takes the queue-ready notifications waiting for `host`.
    pub(crate) fn take_notifications(&mut self, host: u64) -> Vec<(u32, u32)> {
        let taken = self.notifications.remove(&host).unwrap_or_default();
        self.pending.fetch_sub(taken.len(), Ordering::Release);
        taken
    }

    pub(crate) fn has_notifications(&self, host: u64) -> bool {
        self.notifications.get(&host).is_some_and(|n| !n.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cas_rules_and_one_global_counter() {
        let s = SharedState::new();
        assert_eq!(s.get_shared_data("vm", "a"), None);
        s.set_shared_data("vm", "a", b"1", 0).unwrap();
        assert_eq!(s.get_shared_data("vm", "a"), Some((b"1".to_vec(), 1)));
        // A different key (or VM) takes the next value of the same counter.
        s.set_shared_data("other", "b", b"x", 12345).unwrap();
        assert_eq!(s.get_shared_data("other", "b").unwrap().1, 2);
        assert_eq!(
            s.set_shared_data("vm", "a", b"2", 7),
            Err(Status::CasMismatch)
        );
        s.set_shared_data("vm", "a", b"2", 1).unwrap();
        assert_eq!(s.get_shared_data("vm", "a"), Some((b"2".to_vec(), 3)));
        s.set_shared_data("vm", "a", b"3", 0).unwrap();
        assert_eq!(s.get_shared_data("vm", "a").unwrap().1, 4);
        assert_eq!(s.get_shared_data("vm", "b"), None, "data is per vm_id");
    }

    #[test]
    fn queues_notify_the_registering_root() {
        let s = SharedState::new();
        let mut g = s.lock();
        let id = g.register_queue("vm", "q", 7, 1);
        assert_ne!(id, 0);
        assert_eq!(g.register_queue("vm", "q", 7, 1), id);
        assert_eq!(g.resolve_queue("vm", "q"), Some(id));
        assert_eq!(g.resolve_queue("other", "q"), None);
        assert_eq!(g.dequeue(id), Err(Status::Empty));
        assert_eq!(g.enqueue(id + 100, b"x"), Err(Status::NotFound));
        g.enqueue(id, b"x").unwrap();
        assert_eq!(g.take_notifications(7), vec![(1, id)]);
        assert_eq!(g.dequeue(id), Ok(b"x".to_vec()));
    }
}
