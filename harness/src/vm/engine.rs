//! The process-wide wasmtime [`Engine`]s and the epoch ticker behind call deadlines.
//!
//! One engine is shared by every module, so compiled code and the type registry are shared and
//! a new host costs only an instantiation. Deadlines use epoch interruption: a background
//! thread increments the engine's epoch every [`EPOCH_TICK`]; each VM call sets its deadline in
//! ticks. The engine is immutable shared infrastructure, not state tests can observe.

use std::sync::OnceLock;
use std::time::Duration;
use wasmtime::{Config, Engine};

/// How often the epoch advances; the granularity of call deadlines.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(5);

fn config(disk_cache: bool) -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    // proxy-wasm modules need no GC proposal; without a collector compiled in it must be off.
    config.gc_support(false);
    config.wasm_gc(false);
    if disk_cache && let Ok(cache) = wasmtime::Cache::new(wasmtime::CacheConfig::new()) {
        config.cache(Some(cache));
    }
    config
}

fn start_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("wasme-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
    // Without the ticker deadlines cannot fire; calls still run (and finish) normally.
    drop(spawned);
}

fn make(disk_cache: bool) -> Engine {
    let engine = Engine::new(&config(disk_cache))
        .or_else(|_| Engine::new(&config(false)))
        .expect("the harness's fixed wasmtime configuration is valid");
    start_ticker(&engine);
    engine
}

/// The shared engine, with wasmtime's on-disk compilation cache when available.
pub(crate) fn shared() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| make(true))
}

/// An engine without any compilation cache, for measuring cold compiles.
pub(crate) fn uncached() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| make(false))
}

/// An engine that also counts executed wasm instructions (wasmtime fuel), for the benchmark's
/// instructions-per-request figure and fuzzing's instruction budgets: deterministic where time
/// is not. Separate from [`shared`] because metering slows every call a little.
pub(crate) fn metered() -> &'static Engine {
    METERED.get_or_init(|| {
        let mut config = config(false);
        config.consume_fuel(true);
        let engine =
            Engine::new(&config).expect("the harness's fixed wasmtime configuration is valid");
        start_ticker(&engine);
        engine
    })
}

static METERED: OnceLock<Engine> = OnceLock::new();

/// Whether `engine` is the [`metered`] one (its stores need fuel to run).
pub(crate) fn is_metered(engine: &Engine) -> bool {
    METERED.get().is_some_and(|m| Engine::same(m, engine))
}

/// Epoch ticks covering `deadline` (at least 1, plus one for the partial tick in progress).
pub(crate) fn ticks_for(deadline: Duration) -> u64 {
    (deadline.as_nanos() / EPOCH_TICK.as_nanos()) as u64 + 2
}
