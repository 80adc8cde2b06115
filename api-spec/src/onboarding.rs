//! Onboarding: where a user is in the guided first steps, which parts of
//! the interface are unlocked for them, and their first workspace.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The steps of onboarding, in order.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OnboardingStage {
    #[default]
    Language,
    Provider,
    Profile,
    Personality,
    Tutorial,
    Complete,
}

/// How much the interface explains.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UserLevel {
    #[default]
    Beginner,
    Intermediate,
    Technical,
}

/// The parts of the interface a user has unlocked.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(default)]
pub struct UnlockedComponents {
    pub sidebar: bool,
    pub session_list: bool,
    pub file_tree: bool,
    pub todo_list: bool,
    pub canvas: bool,
    pub memory: bool,
    pub trx: bool,
    pub terminal: bool,
    pub model_picker: bool,
    pub projects: bool,
    pub voice: bool,
    pub settings: bool,
}

/// A user's onboarding, as stored (in their settings, key `onboarding`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(default)]
pub struct OnboardingState {
    /// Whether onboarding is finished.
    pub completed: bool,
    /// The current step.
    pub stage: OnboardingStage,
    /// The chosen interface language (a BCP 47 tag such as `en` or `de-AT`).
    pub language: Option<String>,
    /// Further languages the user speaks.
    pub languages: Vec<String>,
    pub unlocked: UnlockedComponents,
    pub user_level: UserLevel,
    /// Everything unlocked at once, onboarding skipped.
    pub godmode: bool,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The step of the tutorial the user reached.
    pub tutorial_step: u32,
}

/// A user's onboarding and whether it still has to be done.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct OnboardingView {
    #[serde(flatten)]
    pub state: OnboardingState,
    /// Not completed and not skipped.
    pub needs_onboarding: bool,
}

/// Changes to the caller's onboarding; absent fields keep their value.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct OnboardingUpdate {
    #[serde(default)]
    pub stage: Option<OnboardingStage>,
    /// A BCP 47 tag (letters, digits and `-`, at most 35 characters).
    #[serde(default)]
    pub language: Option<String>,
    /// At most 20 BCP 47 tags.
    #[serde(default)]
    pub languages: Option<Vec<String>>,
    #[serde(default)]
    pub user_level: Option<UserLevel>,
    #[serde(default)]
    pub tutorial_step: Option<u32>,
    /// `true` completes onboarding (as `POST /api/onboarding/complete`).
    #[serde(default)]
    pub complete: Option<bool>,
}

/// Whether the caller still has to be onboarded.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct OnboardingCheck {
    pub needs_onboarding: bool,
    pub stage: OnboardingStage,
    pub completed: bool,
    pub godmode: bool,
}

/// A component of the interface to unlock.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct OnboardingUnlockPath {
    /// One of `sidebar`, `session_list`, `file_tree`, `todo_list`, `canvas`,
    /// `memory`, `trx`, `terminal`, `model_picker`, `projects`, `voice`,
    /// `settings` (`-` may stand for `_`).
    pub component: String,
}

/// The caller's first workspace, made from the onboarding template.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct OnboardingBootstrap {
    /// The name the user wants to be called (1 to 100 printable characters).
    pub display_name: String,
    /// A BCP 47 tag; `en` when absent.
    #[serde(default)]
    pub language: Option<String>,
}

/// Where the first workspace is.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct OnboardingBootstrapped {
    /// Relative to the caller's workspace root (`main`).
    pub workspace_path: String,
}
