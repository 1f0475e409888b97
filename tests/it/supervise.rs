//! Issue 22, item 10: a channel's receive loop that panics, fails or ends is started again
//! with backoff, and its health reads "down" in words while it waits — `/readyz` and
//! `/metrics` say so, and say it is back once it runs again.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aduan::db::Backend;
use aduan_channel::{
    Channel, ChannelContext, ChannelKind, Health, OutboundMessage, ReceiveError, SendError,
    SendReceipt,
};
use async_trait::async_trait;

use crate::both;
use crate::helpers::*;

/// A channel whose receive loop panics on its first start and fails on its second; from the
/// third on it runs until shutdown.
struct Flaky {
    starts: AtomicUsize,
}

#[async_trait]
impl Channel for Flaky {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Telegram
    }
    async fn receive(&self, ctx: ChannelContext) -> Result<(), ReceiveError> {
        match self.starts.fetch_add(1, Ordering::SeqCst) {
            0 => panic!("a bug in the adapter"),
            1 => Err(ReceiveError {
                channel: ChannelKind::Telegram,
                message: "the provider went away".into(),
            }),
            _ => {
                ctx.shutdown.cancelled().await;
                Ok(())
            }
        }
    }
    async fn send(&self, _: &OutboundMessage) -> Result<SendReceipt, SendError> {
        Err(SendError::transient("not in this test"))
    }
    async fn health(&self) -> Health {
        Health::ok("connected")
    }
}

async fn readyz(app: &App) -> (u16, serde_json::Value) {
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn receive_loops_are_supervised(backend: Backend) {
    let Some(db) = fresh(backend).await else {
        return;
    };
    let cfg = test_config(&db.url, &[]);
    let flaky = Arc::new(Flaky {
        starts: AtomicUsize::new(0),
    });
    let core = open_core_with(&cfg, vec![flaky.clone()]).await;
    let app = start(core, &cfg, Some(db)).await;
    // While it waits to be started again, the channel is down in words, whatever the adapter
    // itself says.
    let seen_down = eventually(5, || async {
        let (s, v) = readyz(&app).await;
        s == 503
            && v["channels"]["telegram"]["detail"]
                .as_str()
                .is_some_and(|d| d.contains("panicked") || d.contains("provider went away"))
    })
    .await;
    assert!(seen_down, "{:?}", readyz(&app).await);
    // After the backoff (1 s, then 2 s) it runs again, and is ready.
    assert!(
        eventually(15, || async { readyz(&app).await.0 == 200 }).await,
        "{:?}",
        readyz(&app).await
    );
    assert_eq!(flaky.starts.load(Ordering::SeqCst), 3);
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("aduan_channel_up{channel=\"telegram\"} 1"));
    app.stop().await;
}
both!(receive_loops_are_supervised);
