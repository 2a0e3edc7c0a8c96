//! How long `server.js` may take to answer, per kind of call.
//!
//! The platform's figures, from the developer docs' "Rate limits and constraints" page (the
//! same table for platform 2.3 and 3.0, e.g.
//! `developers.freshworks.com/docs/app-sdk/v3.0/contact/rate-limits-and-constraints`):
//! execution time 20 seconds for server method invocation, product events, app set-up
//! events, external events and scheduled events. An SMI function may ask for less in the
//! manifest, `functions.<name>.timeout` in seconds, one of 5, 10, 15 or 20 (the values real
//! manifests use; FDK 9 refuses others: "/timeout must be equal to one of the allowed
//! values").
//!
//! FDK 6.9's local server used tighter figures (5 s for SMI, 10 s for app events, 20 s for
//! product events, `event_handler/framework.js`), as did the docs of platform 2.2 and
//! earlier ("The serverless component's app execution timeout is five seconds"); fdk-emu
//! follows the current platform, so that what passes here passes there.

use std::time::Duration;

use crate::app::{Function, SMI_TIMEOUTS};

/// The platform's execution time for every kind of serverless call.
pub const EXECUTION_TIME: Duration = Duration::from_secs(20);

/// What kind of call runs a handler; the worker is told, and the terminal shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// Server method invocation: `client.request.invoke(name, params)`.
    Smi,
    /// A product event (`onTicketCreate`, …).
    ProductEvent,
    /// An app set-up event: `onAppInstall`, `afterAppUpdate`, `onAppUninstall`.
    AppEvent,
    /// `onScheduledEvent`, fired by a schedule of `$schedule`.
    ScheduledEvent,
    /// `onExternalEvent`, fired by a request to the target URL.
    ExternalEvent,
}

impl CallKind {
    /// The name on the wire and on the terminal.
    pub fn as_str(self) -> &'static str {
        match self {
            CallKind::Smi => "smi",
            CallKind::ProductEvent => "product_event",
            CallKind::AppEvent => "app_event",
            CallKind::ScheduledEvent => "scheduled_event",
            CallKind::ExternalEvent => "external_event",
        }
    }
}

/// The time limit of one SMI call: the function's own `timeout` when it is one of the
/// allowed values, else the platform's 20 seconds.
pub fn smi_limit(function: Option<&Function>) -> Duration {
    function
        .and_then(|f| f.timeout_secs)
        .filter(|t| SMI_TIMEOUTS.contains(t))
        .map_or(EXECUTION_TIME, Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(timeout: Option<u64>) -> Function {
        Function {
            name: "x".into(),
            timeout_secs: timeout,
            pointer: String::new(),
        }
    }

    #[test]
    fn the_manifest_may_ask_for_an_allowed_value() {
        assert_eq!(smi_limit(None), Duration::from_secs(20));
        assert_eq!(smi_limit(Some(&f(None))), Duration::from_secs(20));
        assert_eq!(smi_limit(Some(&f(Some(5)))), Duration::from_secs(5));
        // Not an allowed value: validation reports it, the call gets the platform's limit.
        assert_eq!(smi_limit(Some(&f(Some(7)))), Duration::from_secs(20));
    }
}
