//! A scripted adapter for the outbox tests: it implements the public `Channel` trait the way an
//! adapter crate does and answers each send from a script (ok, transient, permanent, or wait).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aduan_channel::{
    Channel, ChannelContext, ChannelKind, Health, OutboundMessage, ReceiveError, SendError,
    SendReceipt,
};
use async_trait::async_trait;

#[derive(Debug, Clone)]
pub enum Step {
    Ok,
    Transient,
    RetryAfter(Duration),
    Permanent,
    /// Wait until the gate is opened, then succeed.
    Hold(Arc<tokio::sync::Notify>),
}

pub struct ScriptedChannel {
    kind: ChannelKind,
    script: Mutex<VecDeque<Step>>,
    pub sent: Mutex<Vec<OutboundMessage>>,
    pub calls: Mutex<Vec<i64>>,
    /// What `health` says (ready unless a test turns it off).
    pub healthy: std::sync::atomic::AtomicBool,
}

impl ScriptedChannel {
    pub fn new(kind: ChannelKind, steps: Vec<Step>) -> Arc<Self> {
        Arc::new(ScriptedChannel {
            kind,
            script: Mutex::new(steps.into()),
            sent: Mutex::new(Vec::new()),
            calls: Mutex::new(Vec::new()),
            healthy: std::sync::atomic::AtomicBool::new(true),
        })
    }
    pub fn sent(&self) -> Vec<OutboundMessage> {
        self.sent.lock().unwrap().clone()
    }
}

#[async_trait]
impl Channel for ScriptedChannel {
    fn kind(&self) -> ChannelKind {
        self.kind
    }
    async fn receive(&self, ctx: ChannelContext) -> Result<(), ReceiveError> {
        // Nothing comes in: waits for shutdown, as the trait asks.
        ctx.shutdown.cancelled().await;
        Ok(())
    }
    async fn send(&self, msg: &OutboundMessage) -> Result<SendReceipt, SendError> {
        self.calls.lock().unwrap().push(msg.outbox_id);
        let step = self.script.lock().unwrap().pop_front().unwrap_or(Step::Ok);
        match step {
            Step::Ok => {}
            Step::Transient => return Err(SendError::transient("421 try later")),
            Step::RetryAfter(d) => {
                return Err(SendError::Transient {
                    message: "429".into(),
                    retry_after: Some(d),
                })
            }
            Step::Permanent => return Err(SendError::permanent("550 no such user")),
            Step::Hold(gate) => gate.notified().await,
        }
        self.sent.lock().unwrap().push(msg.clone());
        Ok(SendReceipt::new(format!("{}:{}", self.kind, msg.outbox_id)))
    }
    async fn health(&self) -> Health {
        if self.healthy.load(std::sync::atomic::Ordering::SeqCst) {
            Health::ok("scripted")
        } else {
            Health::down("scripted: down")
        }
    }
}
