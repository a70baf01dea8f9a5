//! `serde::Deserializer` over the [`Reader`]: values, sequences, maps and enums.

use super::JsonError;
use super::reader::{Next, Reader};
use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use std::borrow::Cow;

impl<'de> Deserializer<'de> for &mut Reader<'de> {
    type Error = JsonError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        let result = match self.next_kind()? {
            Next::Null => {
                self.expect_literal("null")?;
                visitor.visit_unit()
            }
            Next::Bool => visitor.visit_bool(self.parse_bool()?),
            Next::Number => {
                let (text, integer) = self.number_token()?;
                match (integer, text.parse::<i64>(), text.parse::<u64>()) {
                    (true, Ok(n), _) if n < 0 => visitor.visit_i64(n),
                    (true, _, Ok(n)) => visitor.visit_u64(n),
                    _ => match text.parse::<f64>() {
                        Ok(f) if f.is_finite() => visitor.visit_f64(f),
                        _ => return Err(self.error("number out of range")),
                    },
                }
            }
            Next::String => match self.parse_string()? {
                Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
                Cow::Owned(s) => visitor.visit_string(s),
            },
            Next::Array => return self.deserialize_seq(visitor),
            Next::Object => return self.deserialize_map(visitor),
        };
        result.map_err(|e| self.at(e))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        let start = self.pos;
        if let Ok(Next::Bool) = self.next_kind() {
            let b = self.parse_bool()?;
            return visitor.visit_bool(b).map_err(|e| self.at(e));
        }
        self.pos = start;
        Err(self.invalid_type(&visitor))
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.integer(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.integer(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.integer(visitor)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.integer(visitor)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.integer(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.integer(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.integer(visitor)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.integer(visitor)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        let start = self.pos;
        if let Ok(Next::Number) = self.next_kind() {
            let (text, _) = self.number_token()?;
            return match text.parse::<f64>() {
                Ok(f) if f.is_finite() => visitor.visit_f64(f).map_err(|e| self.at(e)),
                _ => Err(self.error("number out of range")),
            };
        }
        self.pos = start;
        Err(self.invalid_type(&visitor))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        let start = self.pos;
        if let Ok(Next::String) = self.next_kind() {
            let result = match self.parse_string()? {
                Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
                Cow::Owned(s) => visitor.visit_string(s),
            };
            return result.map_err(|e| self.at(e));
        }
        self.pos = start;
        Err(self.invalid_type(&visitor))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        if let Next::Null = self.next_kind()? {
            self.expect_literal("null")?;
            visitor.visit_none().map_err(|e| self.at(e))
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        let start = self.pos;
        if let Ok(Next::Null) = self.next_kind() {
            self.expect_literal("null")?;
            return visitor.visit_unit().map_err(|e| self.at(e));
        }
        self.pos = start;
        Err(self.invalid_type(&visitor))
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        let start = self.pos;
        if let Ok(Next::Array) = self.next_kind() {
            self.pos += 1;
            let value = visitor
                .visit_seq(Elements {
                    reader: &mut *self,
                    first: true,
                })
                .map_err(|e| self.at(e))?;
            // Elements the visitor did not take are an error (a tuple of the wrong length).
            if !self.eat(b']') {
                return Err(self.error("trailing characters in array"));
            }
            return Ok(value);
        }
        self.pos = start;
        Err(self.invalid_type(&visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        let start = self.pos;
        if let Ok(Next::Object) = self.next_kind() {
            self.pos += 1;
            let value = visitor
                .visit_map(Entries {
                    reader: &mut *self,
                    first: true,
                })
                .map_err(|e| self.at(e))?;
            // `Entries` consumed the closing brace when it reported the end.
            return Ok(value);
        }
        self.pos = start;
        Err(self.invalid_type(&visitor))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        match self.next_kind()? {
            // A unit variant: "Name".
            Next::String => {
                let name = self.parse_string()?.into_owned();
                visitor
                    .visit_enum(name.into_deserializer())
                    .map_err(|e: JsonError| self.at(e))
            }
            // Any other variant: {"Name": value}.
            Next::Object => {
                self.pos += 1;
                let value = visitor.visit_enum(Variant { reader: &mut *self })?;
                if !self.eat(b'}') {
                    return Err(self.error("expected `}` after the enum variant's value"));
                }
                Ok(value)
            }
            _ => Err(self.invalid_type(&"a string or an object with one key (an enum variant)")),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.skip_value()?;
        visitor.visit_unit()
    }
}

/// The elements of an array.
struct Elements<'r, 'de> {
    reader: &'r mut Reader<'de>,
    first: bool,
}

impl<'de> SeqAccess<'de> for Elements<'_, 'de> {
    type Error = JsonError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, JsonError> {
        self.reader.skip_ws();
        if self.reader.peek_byte() == Some(b']') {
            return Ok(None);
        }
        self.reader.separator(&mut self.first, "array")?;
        seed.deserialize(&mut *self.reader).map(Some)
    }
}

/// The entries of an object.
struct Entries<'r, 'de> {
    reader: &'r mut Reader<'de>,
    first: bool,
}

impl<'de> MapAccess<'de> for Entries<'_, 'de> {
    type Error = JsonError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, JsonError> {
        if self.reader.eat(b'}') {
            return Ok(None);
        }
        self.reader.separator(&mut self.first, "object")?;
        let (key, key_end) = self.reader.object_key()?;
        let after_colon = self.reader.pos;
        // Report a bad key (unknown field) at the key, as serde_json does.
        self.reader.pos = key_end;
        let result = match key {
            Cow::Borrowed(k) => seed.deserialize(de::value::BorrowedStrDeserializer::new(k)),
            Cow::Owned(k) => seed.deserialize(de::value::StringDeserializer::new(k)),
        };
        let result = result.map_err(|e| self.reader.at(e));
        self.reader.pos = after_colon;
        result.map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, JsonError> {
        seed.deserialize(&mut *self.reader)
    }
}

/// `{"Variant": value}`.
struct Variant<'r, 'de> {
    reader: &'r mut Reader<'de>,
}

impl<'de> de::EnumAccess<'de> for Variant<'_, 'de> {
    type Error = JsonError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), JsonError> {
        let key = self.reader.object_key()?.0.into_owned();
        let value = seed
            .deserialize(de::value::StringDeserializer::<JsonError>::new(key))
            .map_err(|e| self.reader.at(e))?;
        Ok((value, self))
    }
}

impl<'de> de::VariantAccess<'de> for Variant<'_, 'de> {
    type Error = JsonError;

    fn unit_variant(self) -> Result<(), JsonError> {
        de::Deserialize::deserialize(&mut *self.reader)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, JsonError> {
        seed.deserialize(&mut *self.reader)
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        self.reader.deserialize_seq(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        self.reader.deserialize_map(visitor)
    }
}
