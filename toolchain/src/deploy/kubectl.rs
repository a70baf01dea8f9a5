//! Running `kubectl` for `deploy --apply` and `undeploy --apply`: the only place wasme talks to
//! a cluster.

use crate::deploy::{names, node_cache::WorkloadPatch};
use crate::shell;
use std::io::Write;
use std::process::{Command, Stdio};

/// Everything that can go wrong while running kubectl.
#[derive(Debug, thiserror::Error)]
pub enum KubectlError {
    /// `$KUBECTL` names something that cannot be run.
    #[error("cannot run KUBECTL={path}")]
    FromEnv {
        /// The value of `$KUBECTL`.
        path: String,
        /// Why it cannot be run.
        #[source]
        source: std::io::Error,
    },
    /// No kubectl on PATH, and `$KUBECTL` not set.
    #[error(
        "kubectl is not installed (not found on PATH, and KUBECTL is not set): install kubectl, \
         or drop --apply to print the manifests and apply them yourself"
    )]
    NotInstalled,
    /// kubectl from PATH exists but cannot be started.
    #[error("cannot run kubectl")]
    Spawn(#[source] std::io::Error),
    /// The manifests could not be written to kubectl's stdin.
    #[error("cannot write the manifests to kubectl")]
    Write(#[source] std::io::Error),
    /// Waiting for kubectl failed.
    #[error("kubectl did not finish")]
    Wait(#[source] std::io::Error),
    /// kubectl failed; `cause` is its own message (its stderr), empty when it said nothing.
    #[error("`{what}` failed ({status}){}", describe_cause(.cause))]
    Failed {
        /// The command line (`kubectl apply -f -`).
        what: String,
        /// kubectl's exit status.
        status: std::process::ExitStatus,
        /// kubectl's stderr, trimmed.
        cause: String,
    },
}

fn describe_cause(cause: &str) -> String {
    if cause.is_empty() {
        " without saying why".into()
    } else {
        format!(": {cause}")
    }
}

impl KubectlError {
    /// What to do about the error, when there is something to say beyond its message.
    pub fn help(&self) -> Option<String> {
        match self {
            KubectlError::FromEnv { .. } => Some(
                "point KUBECTL at a kubectl binary, or unset it to use `kubectl` from PATH".into(),
            ),
            _ => None,
        }
    }
}

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
) -> Result<std::process::Child, KubectlError> {
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
                KubectlError::FromEnv {
                    path: path.to_string_lossy().into_owned(),
                    source: e,
                }
            } else if e.kind() == std::io::ErrorKind::NotFound {
                KubectlError::NotInstalled
            } else {
                KubectlError::Spawn(e)
            }
        })
}

/// Runs `kubectl ARGS` with `input` on its stdin; fails with kubectl's own message.
pub fn kubectl_stdin(args: &[&str], input: &str) -> Result<(), KubectlError> {
    let mut child = spawn_kubectl(args, Stdio::piped(), false)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .map_err(KubectlError::Write)?;
    }
    let out = child.wait_with_output().map_err(KubectlError::Wait)?;
    check(&format!("kubectl {}", args.join(" ")), &out)
}

/// Fails with kubectl's own message (its stderr) when it failed: that names the real cause
/// (no cluster, no permission, a CRD not installed), not just an exit status.
fn check(what: &str, out: &std::process::Output) -> Result<(), KubectlError> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        shell::info(stderr.trim_end());
        return Ok(());
    }
    Err(KubectlError::Failed {
        what: what.to_owned(),
        status: out.status,
        cause: stderr.trim().to_owned(),
    })
}

/// Patches the pod annotations of the workloads `patch` selects (`kubectl get`, then one
/// strategic-merge `kubectl patch` each); warns when none matches.
pub fn kubectl_patch_workloads(patch: &WorkloadPatch) -> Result<(), KubectlError> {
    let kind = patch.kind.as_str().to_ascii_lowercase();
    let ns = patch.namespace.clone().unwrap_or_else(|| "default".into());
    let selector = names::label_selector(&patch.labels);
    let mut args = vec!["get", kind.as_str(), "-n", ns.as_str(), "-o", "name"];
    if !selector.is_empty() {
        args.extend(["-l", selector.as_str()]);
    }
    let out = spawn_kubectl(&args, Stdio::null(), true)?
        .wait_with_output()
        .map_err(KubectlError::Wait)?;
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
        .map_err(KubectlError::Wait)?;
        check(&format!("kubectl patch {w}"), &out)?;
    }
    Ok(())
}
