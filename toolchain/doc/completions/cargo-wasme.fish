# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_cargo_wasme_global_optspecs
    string join \n v/verbose q/quiet color= message-format= verify-key= h/help V/version
end

function __fish_cargo_wasme_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_cargo_wasme_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_cargo_wasme_using_subcommand
    set -l cmd (__fish_cargo_wasme_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -s V -l version -d 'Print version'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "build" -d 'Build a filter crate for wasm32-wasip1 and store it as an OCI image'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "package" -d 'Package a module built by any toolchain as an OCI image in the local store'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "images" -d 'List the images in the local store'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "tag" -d 'Give an image in the local store another tag'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "rmi" -d 'Remove images from the local store and garbage-collect unused blobs'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "inspect" -d 'Show an image\'s manifest, config, ABI, root ids, imports and exports'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "export" -d 'Write an image\'s Wasm module to a file'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "push" -d 'Push an image from the local store to a registry'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "pull" -d 'Pull an image from a registry into the local store'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "key" -d 'Generate a signing key pair'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "sign" -d 'Sign an image (Sigstore bundle attached as an OCI referrer, as cosign v3 writes it)'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "verify" -d 'Verify an image\'s signature; prints the verified digest, fails otherwise'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "sbom" -d 'Print the SBOM (CycloneDX) attached to an image'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "login" -d 'Log in to a registry (verifies the credentials first)'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "logout" -d 'Forget the credentials for a registry'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "deploy" -d 'Generate deployment manifests (Istio, Envoy) for an image'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "undeploy" -d 'Generate the deletions matching `deploy`'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "render" -d 'Turn FilterDeployment documents into Istio resources (also a KRM function)'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "crd" -d 'Print the FilterDeployment CustomResourceDefinition'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "cache" -d 'Run the node cache the EnvoyFilter form loads modules from (a daemon, one per node)'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "init" -d 'Create a new filter project'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "run" -d 'Send one request or connection through a filter in the harness'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "test" -d 'Run declarative scenario files against filters in the harness'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "fuzz" -d 'Fuzz a filter with generated traffic; a failure is shrunk into a scenario file'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "bench" -d 'Measure what a filter adds per request against a do-nothing filter'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "man" -d 'Print the man page (roff) on stdout: `cargo wasme man | man -l -`'
complete -c cargo-wasme -n "__fish_cargo_wasme_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand build" -l manifest-path -d 'Path to Cargo.toml (like cargo\'s flag)' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand build" -s p -l package -d 'The workspace package to build' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand build" -s t -l tag -d 'The image reference to store it under [default: [package.metadata.wasme] tag, else <crate-name>:<version>]' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand build" -l profile -d 'The cargo profile. `release` (the default) gets the size settings (opt-level "z", LTO, one codegen unit, panic=abort, stripped); any other profile is used as written' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand build" -l target-dir -d 'Cargo\'s target directory [default: cargo\'s, which honours CARGO_TARGET_DIR]' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand build" -s F -l features -d 'Passed to cargo (space or comma separated)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand build" -l format -d 'The image layout. compat works with Istio and every registry' -r -f -a "compat\t'OCI manifest, tar+gzip layer with `plugin.wasm` (Istio\'s "compat" variant). The default'
docker\t'Docker schema2 manifest with the compat layer'
solo\t'solo.io\'s two-layer format (wasme, WebAssembly Hub)'
cncf\t'The CNCF Wasm OCI artifact (not readable by Istio)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand build" -l root-id -d 'Root context ids (repeatable) [default: [package.metadata.wasme] root-ids, else the crate name in snake case]' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand build" -l sign -d 'Sign the image and its provenance and SBOM attestations with this private key' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand build" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand build" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand build" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand build" -l release -d 'The release profile (the default; accepted for cargo\'s habit)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand build" -l no-opt -d 'Skip wasm-opt'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand build" -l debug-names -d 'Keep the `name` section (function names in traps and profilers)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand build" -l locked -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand build" -l offline -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand build" -l frozen -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand build" -l all-features -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand build" -l no-default-features -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand build" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand build" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand build" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand package" -s t -l tag -d 'The image reference to store it under [default: the file name without `.wasm`, lower case with `_` as `-`, and the tag `latest`: `my_filter.wasm` → `my-filter:latest`]' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand package" -l format -d 'The image layout. compat works with Istio and every registry' -r -f -a "compat\t'OCI manifest, tar+gzip layer with `plugin.wasm` (Istio\'s "compat" variant). The default'
docker\t'Docker schema2 manifest with the compat layer'
solo\t'solo.io\'s two-layer format (wasme, WebAssembly Hub)'
cncf\t'The CNCF Wasm OCI artifact (not readable by Istio)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand package" -l root-id -d 'Root context ids (repeatable) [default: [package.metadata.wasme] root-ids, else the crate name in snake case]' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand package" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand package" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand package" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand package" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand package" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand package" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand images" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand images" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand images" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand images" -l json -d 'Print a JSON array instead of a table (`--message-format json`: one object per line)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand images" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand images" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand images" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand tag" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand tag" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand tag" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand tag" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand tag" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand tag" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand rmi" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand rmi" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand rmi" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand rmi" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand rmi" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand rmi" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand inspect" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand inspect" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand inspect" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand inspect" -l json -d 'Print JSON'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand inspect" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand inspect" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand inspect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand export" -s o -l output -d 'Where to write the module' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand export" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand export" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand export" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand export" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand export" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand push" -l sign -d 'Sign the image with this private key first (in the local store; the signature is pushed with the image, as every stored signature and attestation is)' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand push" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand push" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand push" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand push" -l plain-http -d 'Use plain HTTP (automatic for localhost and 127.0.0.1)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand push" -l insecure -d 'Accept invalid TLS certificates'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand push" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand push" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand push" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand pull" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand pull" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand pull" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand pull" -l plain-http -d 'Use plain HTTP (automatic for localhost and 127.0.0.1)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand pull" -l insecure -d 'Accept invalid TLS certificates'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand pull" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand pull" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand pull" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand key; and not __fish_seen_subcommand_from generate help" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand key; and not __fish_seen_subcommand_from generate help" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand key; and not __fish_seen_subcommand_from generate help" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand key; and not __fish_seen_subcommand_from generate help" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand key; and not __fish_seen_subcommand_from generate help" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand key; and not __fish_seen_subcommand_from generate help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand key; and not __fish_seen_subcommand_from generate help" -f -a "generate" -d 'Generate an ECDSA P-256 key pair: PREFIX.key (PKCS#8 PEM, mode 0600; encrypted with the password from WASME_KEY_PASSWORD or asked on a terminal) and PREFIX.pub (SPKI PEM, what `verify --key` and `cosign verify --key` read)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand key; and not __fish_seen_subcommand_from generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand key; and __fish_seen_subcommand_from generate" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand key; and __fish_seen_subcommand_from generate" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand key; and __fish_seen_subcommand_from generate" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand key; and __fish_seen_subcommand_from generate" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand key; and __fish_seen_subcommand_from generate" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand key; and __fish_seen_subcommand_from generate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "generate" -d 'Generate an ECDSA P-256 key pair: PREFIX.key (PKCS#8 PEM, mode 0600; encrypted with the password from WASME_KEY_PASSWORD or asked on a terminal) and PREFIX.pub (SPKI PEM, what `verify --key` and `cosign verify --key` read)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand sign" -l key -d 'The private key (PKCS#8 PEM, encrypted or not, or SEC1 PEM)' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand sign" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand sign" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand sign" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand sign" -l remote -d 'Use the registry even when the local store has the reference [default: the store\'s copy when it has one, else the registry]'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand sign" -l plain-http -d 'Use plain HTTP (automatic for localhost and 127.0.0.1)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand sign" -l insecure -d 'Accept invalid TLS certificates'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand sign" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand sign" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand sign" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand verify" -l key -d 'A trusted public key (SPKI PEM); may be given several times: one must verify' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand verify" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand verify" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand verify" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand verify" -l remote -d 'Use the registry even when the local store has the reference [default: the store\'s copy when it has one, else the registry]'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand verify" -l plain-http -d 'Use plain HTTP (automatic for localhost and 127.0.0.1)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand verify" -l insecure -d 'Accept invalid TLS certificates'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand verify" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand verify" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand sbom" -l key -d 'Print the SBOM only when its attestation verifies under this public key (may be given several times)' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand sbom" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand sbom" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand sbom" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand sbom" -l remote -d 'Use the registry even when the local store has the reference [default: the store\'s copy when it has one, else the registry]'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand sbom" -l plain-http -d 'Use plain HTTP (automatic for localhost and 127.0.0.1)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand sbom" -l insecure -d 'Accept invalid TLS certificates'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand sbom" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand sbom" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand sbom" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand login" -s u -l username -d 'User name [default: asked for on a terminal]' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand login" -l password -d 'Password or token (prefer --password-stdin: arguments are visible to other users) [default: asked for, hidden, on a terminal]' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand login" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand login" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand login" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand login" -l password-stdin -d 'Read the password or token from standard input'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand login" -l plain-http -d 'Use plain HTTP (automatic for localhost and 127.0.0.1)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand login" -l insecure -d 'Accept invalid TLS certificates'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand login" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand login" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand login" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand logout" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand logout" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand logout" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand logout" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand logout" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand logout" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and not __fish_seen_subcommand_from istio envoy envoy-gateway higress help" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and not __fish_seen_subcommand_from istio envoy envoy-gateway higress help" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and not __fish_seen_subcommand_from istio envoy envoy-gateway higress help" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and not __fish_seen_subcommand_from istio envoy envoy-gateway higress help" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and not __fish_seen_subcommand_from istio envoy envoy-gateway higress help" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and not __fish_seen_subcommand_from istio envoy envoy-gateway higress help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and not __fish_seen_subcommand_from istio envoy envoy-gateway higress help" -f -a "istio" -d 'Istio manifests (WasmPlugin, TrafficExtension or EnvoyFilter) for an image, printed as YAML (ready to commit) or applied with `kubectl apply`'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and not __fish_seen_subcommand_from istio envoy envoy-gateway higress help" -f -a "envoy" -d 'An Envoy v3 bootstrap that runs the image\'s module, for Envoy without Istio'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and not __fish_seen_subcommand_from istio envoy envoy-gateway higress help" -f -a "envoy-gateway" -d 'An Envoy Gateway EnvoyExtensionPolicy attaching the image\'s filter to Gateway API routes or gateways'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and not __fish_seen_subcommand_from istio envoy envoy-gateway higress help" -f -a "higress" -d 'A Higress WasmPlugin (in higress-system) with optional per-route, per-domain or per-service configurations'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and not __fish_seen_subcommand_from istio envoy envoy-gateway higress help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -l id -d 'Filter id: resource name, Envoy filter name and VM id (default: the repository\'s last path segment)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -s n -l namespace -d 'Namespace of the generated resources' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -l labels -d 'Pod labels selecting the workloads, `k=v,k2=v2` (none: every workload in the namespace)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -l config -d 'Filter configuration: a string, or a JSON object' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -l root-id -d 'Root id (default: the image\'s first root id)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -l api -d 'Which Istio resource to generate [default: wasmplugin; envoyfilter, with a notice, when --config is a plain string, as the seed\'s `wasme deploy istio … --config \'tomorrow\'`]' -r -f -a "wasmplugin\t'`extensions.istio.io/v1alpha1` WasmPlugin (Istio ≥ 1.12; istio-agent pulls the module)'
trafficextension\t'`extensions.istio.io/v1alpha1` TrafficExtension (Istio ≥ 1.30)'
envoyfilter\t'`networking.istio.io/v1alpha3` EnvoyFilter with the module on a node-local cache path (any Istio version; needs the wasme node cache)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -l istio-version -d 'The mesh\'s Istio version (e.g. 1.24): picks the EnvoyFilter shape (≤ 1.6 `config`, ≥ 1.7 `typedConfig`) and drives warnings' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -l phase -d 'Where in the filter chain the plugin goes' -r -f -a "authn\t'Before Istio\'s authentication filters'
authz\t'Before Istio\'s authorization filters'
stats\t'Before Istio\'s stats filters'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -l priority -d 'Order among plugins of the same phase (higher first)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -l fail-strategy -d 'Behaviour on fatal plugin errors' -r -f -a "fail-close\t'Fail the request (Istio\'s default)'
fail-open\t'Skip the plugin'
fail-reload\t'Reload the VM and retry'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -l pull-policy -d 'When Istio re-pulls the module' -r -f -a "if-not-present\t'Use a cached module when there is one'
always\t'Pull every time the plugin is (re)configured'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -l pull-secret -d 'A `kubernetes.io/dockerconfigjson` Secret in the namespace, for private registries' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -l patch-context -d 'Which traffic the filter sees (EnvoyFilter default: inbound; WasmPlugin default: all)' -r -f -a "inbound\t'Inbound sidecar traffic'
outbound\t'Outbound sidecar traffic'
gateway\t'Gateways'
any\t'Everywhere'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -l workload-type -d 'Kind of the selected workloads (the EnvoyFilter form patches their pod annotations)' -r -f -a "deployment\t'`apps/v1` Deployment'
daemonset\t'`apps/v1` DaemonSet'
statefulset\t'`apps/v1` StatefulSet'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -l type -d 'HTTP or network filter' -r -f -a "http\t'An HTTP filter (default)'
network\t'A network (TCP) filter'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -l kustomize -d 'EnvoyFilter form: also write DIR/kustomization.yaml, a kustomize Component with the resources and the patch that mounts the node cache into the selected workloads (list DIR under `components:`). Kustomize documents never go to stdout' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -l plain-http -d 'Resolve the digest over plain HTTP (loopback registries are plain HTTP anyway)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -l offline -d 'Trust the local store: do not check that the registry has the image (a warning says so). Without it the image is verified against the registry its reference names'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -l skip-config-check -d 'Do not run the configuration check (the image\'s module started with the exact configuration the output hands it, through on_vm_start and on_configure): a configuration the filter refuses then fails closed in the mesh'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -l filter-deployment -d 'Print the equivalent FilterDeployment instead of the Istio resources'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -l apply -d 'Apply with `kubectl apply -f -` instead of printing'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from istio" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy" -l id -d 'Filter name and VM id (default: the repository\'s last path segment)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy" -l config -d 'Filter configuration (a string, or JSON)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy" -l root-id -d 'Root id (default: the image\'s first root id)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy" -l listen-address -d 'Listener address' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy" -l port -d 'Listener port' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy" -l upstream-name -d 'Name of the upstream cluster requests are routed to' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy" -l upstream-address -d 'Upstream address, HOST:PORT' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy" -l admin-port -d 'Admin interface port on 127.0.0.1 (0: no admin interface)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy" -l type -d 'HTTP or network filter' -r -f -a "http\t'An HTTP filter (default)'
network\t'A network (TCP) filter'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy" -l module-path -d 'Where to write the module (default: `$WASME_HOME/modules/<sha256>.wasm`)' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy" -s o -l output -d 'Write the bootstrap here instead of stdout' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy" -l skip-config-check -d 'Do not start the module with the configuration before writing the bootstrap'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy-gateway" -l target-ref -d 'What the policy attaches to, `KIND/NAME` or `NAME` (an HTTPRoute), in the policy\'s namespace. Kinds: Gateway, HTTPRoute, GRPCRoute, ListenerSet, TCPRoute, TLSRoute, UDPRoute. Repeatable' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy-gateway" -l id -d 'Policy name and Wasm filter name (default: the repository\'s last path segment)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy-gateway" -s n -l namespace -d 'Namespace of the policy (that of its targets)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy-gateway" -l config -d 'Filter configuration: a JSON object (Envoy Gateway passes it as JSON text)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy-gateway" -l root-id -d 'Root id (default: the image\'s first root id)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy-gateway" -l pull-secret -d 'A `kubernetes.io/dockerconfigjson` Secret in the namespace (`pullSecretRef`)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy-gateway" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy-gateway" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy-gateway" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy-gateway" -l fail-open -d 'Skip the filter when it fails or refuses its configuration (`failOpen: true`); by default traffic gets a 5xx'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy-gateway" -l plain-http -d 'Resolve the digest over plain HTTP (loopback registries are plain HTTP anyway)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy-gateway" -l offline -d 'Trust the local store: do not check that the registry has the image'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy-gateway" -l skip-config-check -d 'Do not start the filter with the configuration first (it fails closed if refused)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy-gateway" -l filter-deployment -d 'Print the equivalent FilterDeployment (`target: envoy-gateway`) instead'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy-gateway" -l apply -d 'Apply with `kubectl apply -f -` instead of printing'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy-gateway" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy-gateway" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from envoy-gateway" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from higress" -l id -d 'WasmPlugin name (default: the repository\'s last path segment)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from higress" -s n -l namespace -d 'Namespace: Higress\'s controller reads only its own (higress-system by default); another one gets a warning' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from higress" -l config -d 'The default configuration (`defaultConfig`): a JSON object' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from higress" -l match-ingress -d 'A match rule for routes, `NAMESPACE/NAME[,…][=CONFIG]` with CONFIG a JSON object. Repeatable: each flag is one rule' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from higress" -l match-domain -d 'A match rule for domains, `DOMAIN[,…][=CONFIG]` (`*.example.com`, `www.*`). Repeatable' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from higress" -l match-service -d 'A match rule for services, `SERVICE[,…][=CONFIG]` (`name.ns.svc.cluster.local:80`). Repeatable' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from higress" -l root-id -d 'Root id (`pluginName`; default: the image\'s first root id)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from higress" -l phase -d 'Where in the filter chain the plugin goes' -r -f -a "authn\t'Before Istio\'s authentication filters'
authz\t'Before Istio\'s authorization filters'
stats\t'Before Istio\'s stats filters'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from higress" -l priority -d 'Order among plugins of the same phase (higher first)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from higress" -l fail-strategy -d 'Behaviour on fatal plugin errors (fail-close or fail-open)' -r -f -a "fail-close\t'Fail the request (Istio\'s default)'
fail-open\t'Skip the plugin'
fail-reload\t'Reload the VM and retry'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from higress" -l pull-policy -d 'When Higress re-pulls the module' -r -f -a "if-not-present\t'Use a cached module when there is one'
always\t'Pull every time the plugin is (re)configured'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from higress" -l pull-secret -d 'A docker-config Secret in the namespace (`imagePullSecret`)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from higress" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from higress" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from higress" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from higress" -l plain-http -d 'Resolve the digest over plain HTTP (loopback registries are plain HTTP anyway)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from higress" -l offline -d 'Trust the local store: do not check that the registry has the image'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from higress" -l skip-config-check -d 'Do not start the filter with the configuration first (it fails closed if refused)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from higress" -l filter-deployment -d 'Print the equivalent FilterDeployment (`target: higress`) instead'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from higress" -l apply -d 'Apply with `kubectl apply -f -` instead of printing'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from higress" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from higress" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from higress" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from help" -f -a "istio" -d 'Istio manifests (WasmPlugin, TrafficExtension or EnvoyFilter) for an image, printed as YAML (ready to commit) or applied with `kubectl apply`'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from help" -f -a "envoy" -d 'An Envoy v3 bootstrap that runs the image\'s module, for Envoy without Istio'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from help" -f -a "envoy-gateway" -d 'An Envoy Gateway EnvoyExtensionPolicy attaching the image\'s filter to Gateway API routes or gateways'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from help" -f -a "higress" -d 'A Higress WasmPlugin (in higress-system) with optional per-route, per-domain or per-service configurations'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand deploy; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and not __fish_seen_subcommand_from istio envoy-gateway higress help" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and not __fish_seen_subcommand_from istio envoy-gateway higress help" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and not __fish_seen_subcommand_from istio envoy-gateway higress help" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and not __fish_seen_subcommand_from istio envoy-gateway higress help" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and not __fish_seen_subcommand_from istio envoy-gateway higress help" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and not __fish_seen_subcommand_from istio envoy-gateway higress help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and not __fish_seen_subcommand_from istio envoy-gateway higress help" -f -a "istio" -d 'Deletions of what `deploy istio --id ID` created, printed (for `kubectl delete -f -`) or applied'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and not __fish_seen_subcommand_from istio envoy-gateway higress help" -f -a "envoy-gateway" -d 'The deletion of what `deploy envoy-gateway --id ID` created'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and not __fish_seen_subcommand_from istio envoy-gateway higress help" -f -a "higress" -d 'The deletion of what `deploy higress --id ID` created'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and not __fish_seen_subcommand_from istio envoy-gateway higress help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from istio" -l id -d 'The filter id given to `deploy` (the resources\' name)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from istio" -s n -l namespace -d 'Namespace of the resources' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from istio" -l api -d 'Only this kind (default: WasmPlugin, TrafficExtension and EnvoyFilter named ID)' -r -f -a "wasmplugin\t'`extensions.istio.io/v1alpha1` WasmPlugin (Istio ≥ 1.12; istio-agent pulls the module)'
trafficextension\t'`extensions.istio.io/v1alpha1` TrafficExtension (Istio ≥ 1.30)'
envoyfilter\t'`networking.istio.io/v1alpha3` EnvoyFilter with the module on a node-local cache path (any Istio version; needs the wasme node cache)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from istio" -l labels -d 'With the EnvoyFilter form: the pod labels given to `deploy`, to remove the node-cache pod annotations from those workloads' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from istio" -l workload-type -d 'Kind of the workloads whose annotations are removed' -r -f -a "deployment\t'`apps/v1` Deployment'
daemonset\t'`apps/v1` DaemonSet'
statefulset\t'`apps/v1` StatefulSet'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from istio" -l kustomize -d 'With --labels: write DIR/kustomization.yaml, a kustomize Component whose patch removes the node-cache annotations (kustomize documents never go to stdout)' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from istio" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from istio" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from istio" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from istio" -l apply -d 'Delete with `kubectl delete --ignore-not-found -f -` instead of printing'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from istio" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from istio" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from istio" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from envoy-gateway" -l id -d 'The id given to `deploy envoy-gateway` (the policy\'s name)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from envoy-gateway" -s n -l namespace -d 'Namespace of the policy' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from envoy-gateway" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from envoy-gateway" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from envoy-gateway" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from envoy-gateway" -l apply -d 'Delete with `kubectl delete --ignore-not-found -f -` instead of printing'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from envoy-gateway" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from envoy-gateway" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from envoy-gateway" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from higress" -l id -d 'The id given to `deploy higress` (the WasmPlugin\'s name)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from higress" -s n -l namespace -d 'Namespace of the WasmPlugin' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from higress" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from higress" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from higress" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from higress" -l apply -d 'Delete with `kubectl delete --ignore-not-found -f -` instead of printing'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from higress" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from higress" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from higress" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from help" -f -a "istio" -d 'Deletions of what `deploy istio --id ID` created, printed (for `kubectl delete -f -`) or applied'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from help" -f -a "envoy-gateway" -d 'The deletion of what `deploy envoy-gateway --id ID` created'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from help" -f -a "higress" -d 'The deletion of what `deploy higress --id ID` created'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand undeploy; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand render" -s f -l filename -d 'Input: a file, a directory (its *.yaml/*.yml files, sorted) or `-` for stdin. Repeatable. Default: stdin' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand render" -l insecure-registry -d 'A registry host that may be reached over plain HTTP or unverified TLS when a document\'s `imagePullOptions` asks for it (loopback registries always may). Repeatable. A document alone can never turn this on: it would expose credentials' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand render" -l kustomize -d 'Write the node-cache patches for workloads that are not in the input to DIR/kustomization.yaml, a kustomize Component (list DIR under `components:`)' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand render" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand render" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand render" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand render" -l krm -d 'KRM function mode: read a `ResourceList` on stdin, write one on stdout (kustomize/kpt). Also chosen automatically when stdin holds a single ResourceList'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand render" -l offline -d 'Trust the local store: do not check that the registries have the images. Implied by KRM function mode, which never uses the network'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand render" -l skip-config-check -d 'Do not run the configuration check (each filter\'s module started with the exact configuration its output hands it, through on_vm_start and on_configure)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand render" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand render" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand render" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand crd" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand crd" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand crd" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand crd" -l json -d 'Print JSON instead of YAML'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand crd" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand crd" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand crd" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand cache" -l refs -d 'The list of image references: a file, or a directory whose files are lists (a mounted ConfigMap)' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand cache" -l dir -d 'Where modules are written, as `<dir>/<sha256 of the module>`' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand cache" -l interval -d 'Seconds between two reads of the list (and the first back-off of a failing entry); fractions allowed (`0.5`)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand cache" -l entry-timeout -d 'Seconds one entry may take (resolving and downloading it) before it counts as failed for this round; fractions allowed (`0.5`)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand cache" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand cache" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand cache" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand cache" -l once -d 'Sync once and exit: 0 when every image is cached and the cleanup done, 2 when only part is (some image or the cleanup failed), 1 when nothing could be done'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand cache" -l plain-http -d 'Speak plain HTTP to the registries (loopback registries are plain HTTP anyway)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand cache" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand cache" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand cache" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand init" -l template -d 'The kind of filter (asked on a terminal when not given; `http` with --yes)' -r -f -a "http\t'An HTTP filter (request/response headers and bodies, local replies)'
network\t'A network (TCP) filter (connection data, metrics, closing connections)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand init" -s l -l language -d 'The language: rust, cpp, c or assemblyscript (asked on a terminal when not given; `rust` with --yes). Other languages get an HTTP filter, a wasme.toml and scenarios' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand init" -l name -d 'The crate name (default: the directory name)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand init" -l sdk-path -d 'Point the dependencies at a wasme checkout (its root) with a `[patch.crates-io]` section, instead of the default (the checkout this binary was built from when it still exists, else crates.io). Delete the section to use the published crates' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand init" -l sdk-version -d 'Depend on this crates.io version of wasme-sdk and wasme-harness' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand init" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand init" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand init" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand init" -s y -l yes -d 'Never prompt: use the defaults for every choice not given'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand init" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand init" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -s X -l method -d 'Request method' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l path -d 'Request path' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l authority -d 'Request authority (`:authority`)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -s H -l header -d 'A request header `name: value` (repeatable)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -s d -l body -d 'The request body (for --tcp: the bytes the client sends)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l body-file -d 'Read the request body from a file' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l trailer -d 'A request trailer `name: value` (repeatable)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l request-file -d 'Read the request (method, path, authority, headers, body, trailers) from a YAML file in the scenario `request` format; flags given as well override it' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l response-status -d 'The upstream\'s response status' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l response-header -d 'An upstream response header `name: value` (repeatable)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l response-body -d 'The upstream\'s response body (for --tcp: the bytes the upstream sends)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l config -d 'The plugin configuration' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l config-file -d 'Read the plugin configuration from a file' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l vm-config -d 'The VM configuration' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l root-id -d 'The plugin\'s root id' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l env -d 'An environment variable `KEY=VALUE` for the module (repeatable)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l property -d 'A host property `dotted.path=value` (repeatable), e.g. `node.metadata.REGION=eu`; a segment containing dots goes in brackets: `metadata.filter_metadata[envoy.lua].k=v`. `source.address`, `source.port`, `destination.*` and `connection.*` set the connection' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l worker-config -d 'The plugin configuration a worker configures the plugin with after start-up (Envoy configures every worker again); if the filter refuses it, the request meets the failure policy (fail-closed: 503)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l cluster -d 'A cluster the filter may call: `NAME` (never answers: the callout times out with Envoy\'s 504), `NAME=STATUS[:BODY]`, `NAME=fail` (unreachable: Envoy\'s 503) or `NAME=reset` (the callout\'s stream is reset) (repeatable)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -s p -l package -d 'The workspace package to build when MODULE is a crate directory' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l profile -d 'The cargo profile. `release` (the default) gets the size settings (opt-level "z", LTO, one codegen unit, panic=abort, stripped); any other profile is used as written' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l target-dir -d 'Cargo\'s target directory [default: cargo\'s, which honours CARGO_TARGET_DIR]' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -s F -l features -d 'Passed to cargo (space or comma separated)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l tcp -d 'Run a TCP connection through a network filter instead of an HTTP request'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l trace -d 'Print the hostcall trace'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l release -d 'The release profile (the default; accepted for cargo\'s habit)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l no-opt -d 'Skip wasm-opt'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l debug-names -d 'Keep the `name` section (function names in traps and profilers)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l locked -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l offline -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l frozen -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l all-features -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -l no-default-features -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand test" -l junit -d 'Write a JUnit XML report to this file' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand test" -l module -d 'Run every scenario with this module instead of the one the file names' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand test" -l profile -d 'The cargo profile. `release` (the default) gets the size settings (opt-level "z", LTO, one codegen unit, panic=abort, stripped); any other profile is used as written' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand test" -l target-dir -d 'Cargo\'s target directory [default: cargo\'s, which honours CARGO_TARGET_DIR]' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand test" -s F -l features -d 'Passed to cargo (space or comma separated)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand test" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand test" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand test" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand test" -l trace -d 'Print the hostcall trace of failing steps'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand test" -l print-schema -d 'Print the JSON schema of scenario files and exit'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand test" -l release -d 'The release profile (the default; accepted for cargo\'s habit)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand test" -l no-opt -d 'Skip wasm-opt'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand test" -l debug-names -d 'Keep the `name` section (function names in traps and profilers)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand test" -l locked -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand test" -l offline -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand test" -l frozen -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand test" -l all-features -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand test" -l no-default-features -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand test" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand test" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand test" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -s p -l package -d 'The workspace package to build' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l scenario -d 'A scenario file: its module (when none is given), root id, configuration, clusters, properties and environment (and, for `fuzz`, its invariants; for `bench`, its requests)' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l root-id -d 'The root id [default: the scenario\'s, else the image\'s first]' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l config -d 'A plugin configuration; repeat it to fuzz several variants [default: the scenario\'s]' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l cluster -d 'A cluster the filter may call (the fuzzer answers its callouts); repeatable' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l profile -d 'The cargo profile. `release` (the default) gets the size settings (opt-level "z", LTO, one codegen unit, panic=abort, stripped); any other profile is used as written' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l target-dir -d 'Cargo\'s target directory [default: cargo\'s, which honours CARGO_TARGET_DIR]' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -s F -l features -d 'Passed to cargo (space or comma separated)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l time -d 'Fuzz for this long (e.g. 30s, 2m)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l runs -d 'Fuzz this many exchanges [default: 100000]' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l seed -d 'The seed: the same seed gives the same exchanges' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l invariant -d 'An invariant every exchange must keep; repeatable, added to the --scenario file\'s `invariants:` (see below)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l fuel-budget -d 'Most wasm instructions one exchange may execute (runs the module metered, a little slower)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l output -d 'Where to write the shrunk scenario of a failure' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l release -d 'The release profile (the default; accepted for cargo\'s habit)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l no-opt -d 'Skip wasm-opt'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l debug-names -d 'Keep the `name` section (function names in traps and profilers)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l locked -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l offline -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l frozen -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l all-features -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l no-default-features -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l grpc -d 'Generate gRPC requests (for gRPC filters)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -l tcp -d 'Generate TCP byte streams (for network filters)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand fuzz" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -s p -l package -d 'The workspace package to build' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -l scenario -d 'A scenario file: its module (when none is given), root id, configuration, clusters, properties and environment (and, for `fuzz`, its invariants; for `bench`, its requests)' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -l root-id -d 'The root id [default: the scenario\'s, else the image\'s first]' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -l config -d 'A plugin configuration; repeat it to fuzz several variants [default: the scenario\'s]' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -l cluster -d 'A cluster the filter may call (the fuzzer answers its callouts); repeatable' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -l profile -d 'The cargo profile. `release` (the default) gets the size settings (opt-level "z", LTO, one codegen unit, panic=abort, stripped); any other profile is used as written' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -l target-dir -d 'Cargo\'s target directory [default: cargo\'s, which honours CARGO_TARGET_DIR]' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -s F -l features -d 'Passed to cargo (space or comma separated)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -l baseline -d 'A previous `--message-format json` output to compare with' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -l threshold -d 'How much worse than the baseline fails, e.g. `10%` or `0.1`' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -l samples -d 'Timed requests per step (after a tenth as many untimed ones, at most 200)' -r
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -l release -d 'The release profile (the default; accepted for cargo\'s habit)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -l no-opt -d 'Skip wasm-opt'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -l debug-names -d 'Keep the `name` section (function names in traps and profilers)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -l locked -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -l offline -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -l frozen -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -l all-features -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -l no-default-features -d 'Passed to cargo'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand bench" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand completions" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand completions" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand completions" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand completions" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand completions" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand man" -l color -d 'Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`)' -r -f -a "auto\t'Colour when stderr is a terminal and `NO_COLOR` is unset'
always\t'Always colour (also into pipes)'
never\t'Never colour'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand man" -l message-format -d 'The form of results on stdout: human, or json (one object per line)' -r -f -a "human\t'Text for people'
json\t'One JSON object per line (each with a `"reason"` field, as cargo\'s messages have)'"
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand man" -l verify-key -d 'Refuse an image unless a signature of its digest verifies under this public key (SPKI PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says what verified. Default: the `WASME_VERIFY_KEY` path list' -r -F
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand man" -s v -l verbose -d 'Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr. `RUST_LOG` overrides the level'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand man" -s q -l quiet -d 'Do not print status lines, warnings or progress (errors still go to stderr)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "build" -d 'Build a filter crate for wasm32-wasip1 and store it as an OCI image'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "package" -d 'Package a module built by any toolchain as an OCI image in the local store'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "images" -d 'List the images in the local store'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "tag" -d 'Give an image in the local store another tag'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "rmi" -d 'Remove images from the local store and garbage-collect unused blobs'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "inspect" -d 'Show an image\'s manifest, config, ABI, root ids, imports and exports'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "export" -d 'Write an image\'s Wasm module to a file'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "push" -d 'Push an image from the local store to a registry'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "pull" -d 'Pull an image from a registry into the local store'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "key" -d 'Generate a signing key pair'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "sign" -d 'Sign an image (Sigstore bundle attached as an OCI referrer, as cosign v3 writes it)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "verify" -d 'Verify an image\'s signature; prints the verified digest, fails otherwise'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "sbom" -d 'Print the SBOM (CycloneDX) attached to an image'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "login" -d 'Log in to a registry (verifies the credentials first)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "logout" -d 'Forget the credentials for a registry'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "deploy" -d 'Generate deployment manifests (Istio, Envoy) for an image'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "undeploy" -d 'Generate the deletions matching `deploy`'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "render" -d 'Turn FilterDeployment documents into Istio resources (also a KRM function)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "crd" -d 'Print the FilterDeployment CustomResourceDefinition'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "cache" -d 'Run the node cache the EnvoyFilter form loads modules from (a daemon, one per node)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "init" -d 'Create a new filter project'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "run" -d 'Send one request or connection through a filter in the harness'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "test" -d 'Run declarative scenario files against filters in the harness'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "fuzz" -d 'Fuzz a filter with generated traffic; a failure is shrunk into a scenario file'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "bench" -d 'Measure what a filter adds per request against a do-nothing filter'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "man" -d 'Print the man page (roff) on stdout: `cargo wasme man | man -l -`'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and not __fish_seen_subcommand_from build package images tag rmi inspect export push pull key sign verify sbom login logout deploy undeploy render crd cache init run test fuzz bench completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "generate" -d 'Generate an ECDSA P-256 key pair: PREFIX.key (PKCS#8 PEM, mode 0600; encrypted with the password from WASME_KEY_PASSWORD or asked on a terminal) and PREFIX.pub (SPKI PEM, what `verify --key` and `cosign verify --key` read)'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and __fish_seen_subcommand_from deploy" -f -a "istio" -d 'Istio manifests (WasmPlugin, TrafficExtension or EnvoyFilter) for an image, printed as YAML (ready to commit) or applied with `kubectl apply`'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and __fish_seen_subcommand_from deploy" -f -a "envoy" -d 'An Envoy v3 bootstrap that runs the image\'s module, for Envoy without Istio'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and __fish_seen_subcommand_from deploy" -f -a "envoy-gateway" -d 'An Envoy Gateway EnvoyExtensionPolicy attaching the image\'s filter to Gateway API routes or gateways'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and __fish_seen_subcommand_from deploy" -f -a "higress" -d 'A Higress WasmPlugin (in higress-system) with optional per-route, per-domain or per-service configurations'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and __fish_seen_subcommand_from undeploy" -f -a "istio" -d 'Deletions of what `deploy istio --id ID` created, printed (for `kubectl delete -f -`) or applied'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and __fish_seen_subcommand_from undeploy" -f -a "envoy-gateway" -d 'The deletion of what `deploy envoy-gateway --id ID` created'
complete -c cargo-wasme -n "__fish_cargo_wasme_using_subcommand help; and __fish_seen_subcommand_from undeploy" -f -a "higress" -d 'The deletion of what `deploy higress --id ID` created'
