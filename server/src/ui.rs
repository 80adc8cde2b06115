//! UI control: checked requests that become `ui.*` events on the caller's
//! own mux connections (the original broadcast them to every user, and
//! its mux then dropped them).

use oqto_api::mux::{ServerFrame, UiEvent};
use oqto_api::ui::{UiDelivered, UiTourStep};

use crate::auth::Caller;
use crate::context::ServerContext;
use crate::error::{Error, Result};

const MAX_TEXT_CHARS: usize = 2000;
const MAX_TARGET_CHARS: usize = 256;
const MAX_ARGS_BYTES: usize = 16 * 1024;
const MAX_STEPS: usize = 50;

/// A path of the web client: absolute, with no scheme or host, so that
/// nothing navigates the user to another site.
fn check_path(path: &str) -> Result<()> {
    let fine = path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && path.len() <= 2048
        && !path.chars().any(char::is_control);
    if fine {
        Ok(())
    } else {
        Err(Error::Invalid(format!("path {path:?} must be a path of the web client, such as /sessions")))
    }
}

fn check_name(field: &str, value: &str) -> Result<()> {
    let fine = (1..=64).contains(&value.len())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if fine {
        Ok(())
    } else {
        Err(Error::Invalid(format!("{field} must be 1 to 64 letters, digits, - or _")))
    }
}

fn check_text(field: &str, value: &Option<String>, max: usize) -> Result<()> {
    match value {
        Some(text) if text.chars().count() > max => {
            Err(Error::Invalid(format!("{field} must be at most {max} characters")))
        }
        _ => Ok(()),
    }
}

/// The texts of a spotlight or a tour's step.
fn check_spot(
    target: Option<&str>,
    title: &Option<String>,
    description: &Option<String>,
    action: &Option<String>,
) -> Result<()> {
    check_text("target", &target.map(str::to_string), MAX_TARGET_CHARS)?;
    check_text("title", title, MAX_TEXT_CHARS)?;
    check_text("description", description, MAX_TEXT_CHARS)?;
    check_text("action", action, MAX_TEXT_CHARS)
}

fn check_step(step: &UiTourStep) -> Result<()> {
    check_spot(Some(&step.target), &step.title, &step.description, &step.action)
}

/// Checks an event's fields (a chat named must be the caller's).
async fn check(ctx: &ServerContext, caller: &Caller, event: &UiEvent) -> Result<()> {
    match event {
        UiEvent::Navigate(n) => check_path(&n.path),
        UiEvent::Session(s) => {
            crate::chats::check_own(ctx, &caller.user_id, &s.session_id).await?;
            check_text("mode", &s.mode, 64)
        }
        UiEvent::View(v) => check_name("view", &v.view),
        UiEvent::Panel(p) => p.view.as_deref().map_or(Ok(()), |v| check_name("view", v)),
        UiEvent::PaletteExec(exec) => {
            let size =
                exec.args.as_ref().map_or(0, |a| serde_json::to_vec(a).map_or(usize::MAX, |v| v.len()));
            if size > MAX_ARGS_BYTES {
                return Err(Error::Invalid(format!("args must be at most {MAX_ARGS_BYTES} bytes")));
            }
            Ok(())
        }
        UiEvent::Spotlight(s) => check_spot(s.target.as_deref(), &s.title, &s.description, &s.action),
        UiEvent::Tour(tour) => {
            // Ending a tour (`active: false`) needs no steps.
            if tour.steps.len() > MAX_STEPS || (tour.active && tour.steps.is_empty()) {
                return Err(Error::Invalid(format!("a tour has 1 to {MAX_STEPS} steps")));
            }
            if let Some(start) = tour.start_index
                && start as usize >= tour.steps.len().max(1)
            {
                return Err(Error::Invalid("start_index must name one of the steps".into()));
            }
            tour.steps.iter().try_for_each(check_step)
        }
        UiEvent::Palette(_) | UiEvent::Sidebar(_) | UiEvent::Theme(_) => Ok(()),
    }
}

/// Checks the event and sends it to the caller's connections.
pub async fn deliver(ctx: &ServerContext, caller: &Caller, event: UiEvent) -> Result<UiDelivered> {
    check(ctx, caller, &event).await?;
    let delivered = ctx.hub.send_to_user(&caller.user_id, &ServerFrame::Ui(event));
    Ok(UiDelivered { success: true, delivered: delivered as u32 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_in_the_web_client() {
        assert!(check_path("/sessions/abc?x=1").is_ok());
        for bad in ["https://evil.example", "//evil.example", "sessions", "/\\evil", "/a\nb"] {
            assert!(check_path(bad).is_err(), "{bad:?}");
        }
    }
}
