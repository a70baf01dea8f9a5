//! Which root id a plugin gets when none is given: the first root id of the image's runtime
//! config, exactly as `cargo wasme deploy` chooses it (`deploy/generate.rs`), so one image
//! gives one answer in `run`, `test` and Envoy.

use crate::scenario::bridge;
use std::fmt;

/// The root id a plugin is started with, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootIdChoice {
    /// The root id (`None`: unset, the harness passes `""` as Envoy does).
    pub root_id: Option<String>,
    /// Where it came from, for the user (`the scenario's root_id`, `image x:1`, …).
    pub origin: String,
}

impl RootIdChoice {
    /// The root id given explicitly (a flag or the scenario's `root_id`), described by `origin`.
    pub fn given(root_id: &str, origin: &str) -> Self {
        RootIdChoice {
            root_id: Some(root_id.to_string()),
            origin: origin.to_string(),
        }
    }

    /// The default of a module whose image declares `root_ids` (`image` names it): the first
    /// one, or unset when the image declares none.
    pub fn from_image(image: &str, root_ids: &[String]) -> Self {
        match root_ids.first() {
            Some(first) => RootIdChoice {
                root_id: Some(first.clone()),
                origin: format!("the first root id of image {image}'s runtime config"),
            },
            None => RootIdChoice {
                root_id: None,
                origin: format!("image {image} declares no root id"),
            },
        }
    }

    /// The default of a module that has no image (a plain `.wasm` file).
    pub fn unset() -> Self {
        RootIdChoice {
            root_id: None,
            origin: "none given and the module has no image".to_string(),
        }
    }

    /// The root id as the harness gets it: `""` when unset.
    pub fn as_str(&self) -> &str {
        self.root_id.as_deref().unwrap_or("")
    }
}

impl fmt::Display for RootIdChoice {
    /// `"add_header" (the first root id of image x:1's runtime config)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} ({})", self.as_str(), self.origin)
    }
}

/// The root id for a module named by `module_arg` (a `.wasm` path or a stored image
/// reference) when `given` is the explicit one (`--root-id`, the scenario's `root_id`).
///
/// ```no_run
/// use cargo_wasme::scenario::exec::{RootIdChoice, choose_root_id};
/// // An image packaged with `--root-id add_header`, run without one:
/// let choice = choose_root_id(None, "localhost:5000/demo-add-header:v0.2");
/// assert_eq!(choice.root_id.as_deref(), Some("add_header"));
/// ```
pub fn choose_root_id(given: Option<(&str, &str)>, module_arg: &str) -> RootIdChoice {
    if let Some((id, origin)) = given {
        return RootIdChoice::given(id, origin);
    }
    match bridge::image_root_ids(module_arg) {
        Some((image, ids)) => RootIdChoice::from_image(&image, &ids),
        None => RootIdChoice::unset(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_given_root_id_wins_then_the_image_first_one_then_none() {
        let given = choose_root_id(Some(("mine", "--root-id")), "no/such/image:1");
        assert_eq!(given.to_string(), "\"mine\" (--root-id)");
        let image = RootIdChoice::from_image("x:1", &["first".into(), "second".into()]);
        assert_eq!(image.root_id.as_deref(), Some("first"));
        assert!(image.to_string().contains("image x:1"), "{image}");
        let none = RootIdChoice::from_image("x:1", &[]);
        assert_eq!((none.root_id.as_deref(), none.as_str()), (None, ""));
        assert_eq!(RootIdChoice::unset().as_str(), "");
    }
}
