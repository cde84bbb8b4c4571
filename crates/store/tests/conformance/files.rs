//! Durable uploads: a file is stored once with its bytes and reads back byte for byte; the
//! same id is never overwritten.

use jiff::Timestamp;
use uuid::Uuid;
use yunshi_store::*;

use crate::backend::TestDb;

crate::conformance!(files_are_stored_durably_once_and_read_back_byte_for_byte);

async fn files_are_stored_durably_once_and_read_back_byte_for_byte(db: &TestDb) {
    let at: Timestamp = "2026-03-01T02:00:00Z".parse().unwrap();
    // Every byte value, and a NUL in the middle: binary, not text.
    let content: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let file = StoredFile {
        id: Uuid::now_v7(),
        owner: "provider-1".into(),
        content_type: "application/pdf".into(),
        sha256: "ab".repeat(32),
        size_bytes: content.len() as u64,
        content,
        created_at: at,
    };
    assert!(db.store.put_file(&file).await.unwrap());
    let back = db.store.file(file.id).await.unwrap().unwrap();
    assert_eq!(back, file);

    let mut other = file.clone();
    other.content = b"%PDF-1.7 replaced".to_vec();
    other.owner = "intruder".into();
    assert!(
        !db.store.put_file(&other).await.unwrap(),
        "never overwritten"
    );
    assert_eq!(db.store.file(file.id).await.unwrap().unwrap(), file);

    assert!(db.store.file(Uuid::now_v7()).await.unwrap().is_none());
    let empty = StoredFile {
        id: Uuid::now_v7(),
        content: Vec::new(),
        size_bytes: 0,
        ..file
    };
    assert!(db.store.put_file(&empty).await.unwrap());
    assert_eq!(
        db.store.file(empty.id).await.unwrap().unwrap().content,
        Vec::<u8>::new()
    );
}
