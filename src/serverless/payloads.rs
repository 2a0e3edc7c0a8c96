//! Default `data` of the documented events, by product, in the shapes of the developer docs
//! ("Product events" pages of each product, platform 2.3 and 3.0): what a fresh
//! `server/test_data/<event>.json` holds until the developer edits it.
//!
//! Each product event carries the entity it is about under the entity's name (`ticket`,
//! `contact`, `conversation`, `deal`, `call`, …), the person who acted as `actor`, and for
//! update events the `changes` (`{"field": [old, new]}`). An event the table does not know
//! gets the same shape, its entity named after the event (`onWidgetCreate` → `widget`), so
//! every event the manifest subscribes to can be fired.

use serde_json::{Value, json};

use crate::app::Product;

/// The entity an event is about and whether it reports changes: `onTicketUpdate` →
/// (`ticket`, true).
fn entity_of(event: &str) -> (String, bool) {
    let base = event.strip_prefix("on").unwrap_or(event);
    for (suffix, changes) in [
        ("Create", false),
        ("Update", true),
        ("Delete", false),
        ("Assign", true),
        ("Merge", false),
    ] {
        if let Some(stem) = base.strip_suffix(suffix) {
            return (snake(stem), changes);
        }
    }
    (snake(base), false)
}

/// `SalesAccount` → `sales_account`.
fn snake(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn actor(product: Option<Product>) -> Value {
    match product {
        Some(Product::Freshsales) => json!({
            "id": 16000012345u64, "type": "user", "email": "agent@example.com",
            "display_name": "Sample Agent", "is_active": true
        }),
        _ => json!({
            "id": 19000012345u64, "type": "agent", "name": "Sample Agent",
            "email": "agent@example.com", "job_title": "Support engineer", "language": "en",
            "time_zone": "UTC"
        }),
    }
}

fn requester() -> Value {
    json!({
        "id": 19000054321u64, "name": "Sample Customer", "email": "customer@example.com",
        "phone": null, "mobile": null, "language": "en", "time_zone": "UTC",
        "company_id": null, "active": true
    })
}

fn ticket(product: Option<Product>) -> Value {
    let mut t = json!({
        "id": 1001, "display_id": 1001, "subject": "Sample ticket: my order has not arrived",
        "description": "<div>Where is my order #42?</div>",
        "description_text": "Where is my order #42?",
        "status": 2, "status_label": "Open", "priority": 1, "priority_label": "Low",
        "source": 1, "source_label": "Email", "type": "Question",
        "requester_id": 19000054321u64, "responder_id": null, "group_id": null,
        "company_id": null, "product_id": null, "tags": ["sample"],
        "cc_emails": [], "fwd_emails": [], "reply_cc_emails": [], "to_emails": ["support@example.com"],
        "due_by": "2026-01-04T10:00:00Z", "fr_due_by": "2026-01-02T10:00:00Z",
        "is_escalated": false, "spam": false, "custom_fields": {},
        "created_at": "2026-01-01T10:00:00Z", "updated_at": "2026-01-01T10:00:00Z"
    });
    if product == Some(Product::Freshservice) {
        t["category"] = json!("Hardware");
        t["sub_category"] = json!("Laptop");
        t["impact"] = json!(1);
        t["urgency"] = json!(1);
        t["department_id"] = json!(null);
        t["workspace_id"] = json!(2);
    }
    t
}

fn entity(name: &str, product: Option<Product>) -> Value {
    match name {
        "ticket" => ticket(product),
        "contact" | "requester" | "user" | "lead" => {
            let mut c = requester();
            if product == Some(Product::Freshsales) {
                c = json!({
                    "id": 16000054321u64, "first_name": "Sample", "last_name": "Customer",
                    "display_name": "Sample Customer", "email": "customer@example.com",
                    "mobile_number": null, "owner_id": 16000012345u64, "lead_score": 10,
                    "custom_field": {}, "created_at": "2026-01-01T10:00:00Z",
                    "updated_at": "2026-01-01T10:00:00Z"
                });
            }
            c
        }
        "conversation" => match product {
            Some(Product::Freshchat) => json!({
                "conversation_id": "9c2c5c1e-5a8b-4f6f-9a1e-000000000001", "app_id": "app-1",
                "channel_id": "channel-1", "status": "new", "assigned_agent_id": null,
                "assigned_group_id": null, "created_time": "2026-01-01T10:00:00Z",
                "user_id": "user-1", "messages": []
            }),
            _ => json!({
                "id": 5001, "body": "<div>Any news on my order?</div>",
                "body_text": "Any news on my order?", "incoming": true, "private": false,
                "source": 0, "source_label": "reply", "ticket_id": 1001,
                "user_id": 19000054321u64, "from_email": "customer@example.com",
                "to_emails": ["support@example.com"], "cc_emails": [], "attachments": [],
                "created_at": "2026-01-01T10:05:00Z", "updated_at": "2026-01-01T10:05:00Z"
            }),
        },
        "message" => json!({
            "message_id": "msg-1", "conversation_id": "9c2c5c1e-5a8b-4f6f-9a1e-000000000001",
            "actor_type": "user", "actor_id": "user-1", "message_type": "normal",
            "message_parts": [{"text": {"content": "Hello, I need help"}}],
            "created_time": "2026-01-01T10:00:00Z"
        }),
        "deal" => json!({
            "id": 16000077777u64, "name": "Sample deal", "amount": "5000",
            "currency": "USD", "deal_stage_id": 1, "owner_id": 16000012345u64,
            "sales_account_id": 16000088888u64, "expected_close": "2026-02-01",
            "custom_field": {}, "created_at": "2026-01-01T10:00:00Z",
            "updated_at": "2026-01-01T10:00:00Z"
        }),
        "sales_account" | "account" => json!({
            "id": 16000088888u64, "name": "Sample Inc.", "website": "https://example.com",
            "owner_id": 16000012345u64, "custom_field": {},
            "created_at": "2026-01-01T10:00:00Z", "updated_at": "2026-01-01T10:00:00Z"
        }),
        "call" => json!({
            "id": 7001, "direction": "incoming", "parent_call_id": null, "root_call_id": 7001,
            "phone_number": "+15550100", "assigned_agent_id": 19000012345u64,
            "call_status": "completed", "duration": 95, "recording": null,
            "participants": [{"caller_number": "+15550199", "participant_type": "Customer"}],
            "created_time": "2026-01-01T10:00:00Z", "updated_time": "2026-01-01T10:01:35Z"
        }),
        "agent" => actor(product),
        other => json!({
            "id": 1, "name": format!("Sample {other}"),
            "created_at": "2026-01-01T10:00:00Z", "updated_at": "2026-01-01T10:00:00Z"
        }),
    }
}

/// The default `data` of a product event.
pub fn product_event_data(event: &str, product: Option<Product>) -> Value {
    let (name, changes) = entity_of(event);
    let mut data = serde_json::Map::new();
    data.insert(name.clone(), entity(&name, product));
    if matches!(name.as_str(), "ticket" | "conversation") && product != Some(Product::Freshchat) {
        data.insert("requester".into(), requester());
    }
    if name == "conversation" && product == Some(Product::Freshchat) {
        data.insert("user".into(), json!({"id": "user-1", "first_name": "Sample", "last_name": "Customer", "email": "customer@example.com"}));
    }
    data.insert("actor".into(), actor(product));
    if changes {
        let field = match name.as_str() {
            "ticket" => json!({"status": [2, 3], "priority": [1, 2]}),
            "deal" => json!({"amount": ["4000", "5000"]}),
            "call" => json!({"call_status": ["in-progress", "completed"]}),
            _ => json!({"name": ["Old name", "New name"]}),
        };
        let at = if product == Some(Product::Freshsales) {
            "model_changes"
        } else {
            "changes"
        };
        data.insert(at.into(), field);
    }
    Value::Object(data)
}

/// The default `data` of an external event: what a webhook might post.
pub fn external_event_data() -> Value {
    json!({"event": "sample.updated", "id": "evt_1", "object": {"id": 42, "status": "done"}})
}

/// The default `data` of a scheduled event fired from the page without a schedule.
pub fn scheduled_event_data() -> Value {
    json!({"sample": true})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_their_entity_and_changes() {
        let d = product_event_data("onTicketUpdate", Some(Product::Freshdesk));
        assert_eq!(d["ticket"]["id"], 1001);
        assert!(d["changes"]["status"].is_array());
        assert!(d["requester"]["email"].is_string());
        let d = product_event_data("onDealUpdate", Some(Product::Freshsales));
        assert!(d["model_changes"].is_object(), "{d}");
        let d = product_event_data("onSalesAccountCreate", Some(Product::Freshsales));
        assert!(d["sales_account"].is_object(), "{d}");
        let d = product_event_data("onWidgetCreate", None);
        assert!(d["widget"].is_object(), "{d}");
    }
}
