//! Running `kubectl` for `--apply`: the only place the CLI talks to a cluster.

use anyhow::{Context, bail};
use cargo_wasme::deploy::{names, node_cache::WorkloadPatch};
use std::io::Write;
use std::process::{Command, Stdio};

/// The kubectl binary: `$KUBECTL`, else `kubectl` on PATH.
fn kubectl() -> std::ffi::OsString {
    std::env::var_os("KUBECTL").unwrap_or_else(|| "kubectl".into())
}

fn spawn_kubectl(args: &[&str], stdin: Stdio) -> anyhow::Result<std::process::Child> {
    Command::new(kubectl())
        .args(args)
        .stdin(stdin)
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                anyhow::anyhow!(
                    "kubectl is not installed (not found on PATH, and KUBECTL is not set): install kubectl, \
                     or drop --apply to print the manifests and apply them yourself"
                )
            } else {
                anyhow::anyhow!("cannot run kubectl: {e}")
            }
        })
}

pub fn kubectl_stdin(args: &[&str], input: &str) -> anyhow::Result<()> {
    let mut child = spawn_kubectl(args, Stdio::piped())?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .context("cannot write the manifests to kubectl")?;
    }
    let status = child.wait().context("kubectl did not finish")?;
    if !status.success() {
        bail!("`kubectl {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

pub fn kubectl_patch_workloads(patch: &WorkloadPatch) -> anyhow::Result<()> {
    let kind = patch.kind.as_str().to_ascii_lowercase();
    let ns = patch.namespace.clone().unwrap_or_else(|| "default".into());
    let selector = names::label_selector(&patch.labels);
    let mut args = vec!["get", kind.as_str(), "-n", ns.as_str(), "-o", "name"];
    if !selector.is_empty() {
        args.extend(["-l", selector.as_str()]);
    }
    let out = Command::new(kubectl())
        .args(&args)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run kubectl: {e}"))?;
    if !out.status.success() {
        bail!("`kubectl {}` failed ({})", args.join(" "), out.status);
    }
    let body = patch.strategic_merge_patch().to_string();
    let listed = String::from_utf8_lossy(&out.stdout);
    let workloads: Vec<&str> = listed
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if workloads.is_empty() {
        eprintln!(
            "warning: no {kind} in namespace {ns} matches {selector:?}: no pod annotations patched"
        );
    }
    for w in workloads {
        let mut child = spawn_kubectl(
            &["patch", w, "-n", &ns, "--type", "strategic", "-p", &body],
            Stdio::null(),
        )?;
        let status = child.wait().context("kubectl did not finish")?;
        if !status.success() {
            bail!("`kubectl patch {w}` failed ({status})");
        }
    }
    Ok(())
}
