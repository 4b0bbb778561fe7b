//! The keys a serde struct declares, read from its derived `Deserialize`.

use serde::de::{self, DeserializeOwned, Visitor};
use serde::Deserializer;

/// The keys a serde struct declares: what its derived `Deserialize` hands to
/// `deserialize_struct`, caught by a deserializer that stops there. Used so that a
/// provider's keys are written once, in its struct.
pub(crate) fn keys_of<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Catch(Option<&'static [&'static str]>);
    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("stop")
        }
    }
    impl std::error::Error for Stop {}
    impl de::Error for Stop {
        fn custom<M: std::fmt::Display>(_: M) -> Self {
            Stop
        }
    }
    impl<'de> Deserializer<'de> for &mut Catch {
        type Error = Stop;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0 = Some(fields);
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
            enum identifier ignored_any
        }
    }
    let mut catch = Catch(None);
    let _ = T::deserialize(&mut catch);
    catch.0.unwrap_or(&[])
}
