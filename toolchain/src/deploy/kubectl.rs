//! Running `kubectl` for `deploy --apply` and `undeploy --apply`: the only place wasme talks to
//! a cluster.

use crate::deploy::{names, node_cache::WorkloadPatch};
use crate::shell;
use anyhow::{Context, bail};
use std::io::Write;
use std::process::{Command, Stdio};

/// The kubectl binary: `$KUBECTL` when set (and not empty), else `kubectl` on PATH.
fn kubectl() -> Option<std::ffi::OsString> {
    std::env::var_os("KUBECTL").filter(|k| !k.is_empty())
}

/// Starts kubectl with its stderr captured (for [`check`]); `capture_stdout` captures its
/// stdout too, else kubectl reports (`… created`) go straight to ours.
fn spawn_kubectl(
    args: &[&str],
    stdin: Stdio,
    capture_stdout: bool,
) -> anyhow::Result<std::process::Child> {
    let from_env = kubectl();
    Command::new(from_env.clone().unwrap_or_else(|| "kubectl".into()))
        .args(args)
        .stdin(stdin)
        .stdout(if capture_stdout {
            Stdio::piped()
        } else {
            Stdio::inherit()
        })
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if let Some(path) = &from_env {
                shell::with_help(
                    anyhow::anyhow!("cannot run KUBECTL={}: {e}", path.to_string_lossy()),
                    "point KUBECTL at a kubectl binary, or unset it to use `kubectl` from PATH",
                )
            } else if e.kind() == std::io::ErrorKind::NotFound {
                anyhow::anyhow!(
                    "kubectl is not installed (not found on PATH, and KUBECTL is not set): install kubectl, \
                     or drop --apply to print the manifests and apply them yourself"
                )
            } else {
                anyhow::anyhow!("cannot run kubectl: {e}")
            }
        })
}

/// Runs `kubectl ARGS` with `input` on its stdin; fails with kubectl's own message.
pub fn kubectl_stdin(args: &[&str], input: &str) -> anyhow::Result<()> {
    let mut child = spawn_kubectl(args, Stdio::piped(), false)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .context("cannot write the manifests to kubectl")?;
    }
    let out = child.wait_with_output().context("kubectl did not finish")?;
    check(&format!("kubectl {}", args.join(" ")), &out)
}

/// Fails with kubectl's own message (its stderr) when it failed: that names the real cause
/// (no cluster, no permission, a CRD not installed), not just an exit status.
fn check(what: &str, out: &std::process::Output) -> anyhow::Result<()> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        shell::info(stderr.trim_end());
        return Ok(());
    }
    let cause = stderr.trim();
    if cause.is_empty() {
        bail!("`{what}` failed ({}) without saying why", out.status);
    }
    bail!("`{what}` failed ({}): {cause}", out.status);
}

/// Patches the pod annotations of the workloads `patch` selects (`kubectl get`, then one
/// strategic-merge `kubectl patch` each); warns when none matches.
pub fn kubectl_patch_workloads(patch: &WorkloadPatch) -> anyhow::Result<()> {
    let kind = patch.kind.as_str().to_ascii_lowercase();
    let ns = patch.namespace.clone().unwrap_or_else(|| "default".into());
    let selector = names::label_selector(&patch.labels);
    let mut args = vec!["get", kind.as_str(), "-n", ns.as_str(), "-o", "name"];
    if !selector.is_empty() {
        args.extend(["-l", selector.as_str()]);
    }
    let out = spawn_kubectl(&args, Stdio::null(), true)?
        .wait_with_output()
        .context("kubectl did not finish")?;
    check(&format!("kubectl {}", args.join(" ")), &out)?;
    let body = patch.strategic_merge_patch().to_string();
    let listed = String::from_utf8_lossy(&out.stdout);
    let workloads: Vec<&str> = listed
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if workloads.is_empty() {
        shell::warn(format_args!(
            "no {kind} in namespace {ns} matches {selector:?}: no pod annotations patched"
        ));
    }
    for w in workloads {
        let out = spawn_kubectl(
            &["patch", w, "-n", &ns, "--type", "strategic", "-p", &body],
            Stdio::null(),
            false,
        )?
        .wait_with_output()
        .context("kubectl did not finish")?;
        check(&format!("kubectl patch {w}"), &out)?;
    }
    Ok(())
}
