//! What a console page is made of. Pages are lists of blocks built in Rust from the API's
//! answers and rendered by one template (`templates/console/page.html`), so every page has
//! the same accessible form markup (labels, errors beside fields, visible focus) and the
//! same table, chart and countdown behaviour.

/// One section of a page.
pub enum Block {
    Heading(String),
    Text(String),
    /// A success or error banner (`tone`: "ok" or "error").
    Banner {
        tone: &'static str,
        text: String,
    },
    /// Headline figures: (label, value).
    Stats(Vec<(String, String)>),
    /// Label–value pairs describing one record.
    Details(Vec<(String, Cell)>),
    Table(Table),
    Form(Form),
    Chart(Chart),
    /// A row of links (sub-navigation, downloads).
    Links(Vec<(String, String)>),
}

pub struct Table {
    /// The DOM id (live search swaps the table by it).
    pub id: String,
    pub caption: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    pub empty: String,
}

/// One table cell or detail value.
pub enum Cell {
    Text(String),
    Link {
        text: String,
        href: String,
    },
    /// A status badge.
    Badge(String),
    /// A live countdown to an RFC 3339 instant (updated in the browser every second).
    Countdown {
        until: String,
        text: String,
    },
    /// Several links (text, href), e.g. the materials of an application.
    Links(Vec<(String, String)>),
    /// Small action forms (buttons) for this row.
    Actions(Vec<Form>),
}

impl Cell {
    /// What a table row is about (its first cell's text), so that the row's buttons can say
    /// it to a screen reader ("Dismiss · 未交付").
    pub fn subject(row: &[Cell]) -> String {
        match row.first() {
            Some(Cell::Text(t) | Cell::Badge(t)) => t.clone(),
            Some(Cell::Link { text, .. }) => text.clone(),
            _ => String::new(),
        }
    }
}

/// A bar chart rendered as inline SVG on the server.
pub struct Chart {
    pub title: String,
    /// (label, value in fen, value shown).
    pub bars: Vec<(String, i64, String)>,
}

impl Chart {
    /// The bars' widths in percent of the largest value.
    pub fn widths(&self) -> Vec<Bar> {
        let max = self.bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
        self.bars
            .iter()
            .map(|(label, v, shown)| Bar {
                pct: i128::from((*v).max(0)) * 100 / i128::from(max),
                label: label.clone(),
                shown: shown.clone(),
            })
            .collect()
    }
}

pub struct Bar {
    pub pct: i128,
    pub label: String,
    pub shown: String,
}

pub struct Form {
    /// Unique on the page; also names the flash message that belongs to it.
    pub id: String,
    /// Where the form posts (the console's action gateway for API calls).
    pub action: String,
    /// "post" or "get".
    pub method: &'static str,
    pub multipart: bool,
    pub fields: Vec<Field>,
    pub submit: String,
    /// Error shown at the top of the form (not tied to a field).
    pub error: Option<String>,
    /// Shown as a small button row inside tables.
    pub compact: bool,
    /// htmx: a GET form that updates this element as the user types.
    pub live_target: Option<String>,
}

pub struct Field {
    pub name: String,
    pub label: String,
    pub kind: FieldKind,
    pub value: String,
    pub required: bool,
    pub hint: Option<String>,
    pub error: Option<String>,
}

pub enum FieldKind {
    Text,
    Email,
    Password,
    Number,
    Textarea,
    Hidden,
    File,
    Checkbox,
    /// (value, label).
    Select(Vec<(String, String)>),
}

impl Field {
    pub fn new(name: &str, label: String, kind: FieldKind) -> Field {
        Field {
            name: name.to_owned(),
            label,
            kind,
            value: String::new(),
            required: false,
            hint: None,
            error: None,
        }
    }

    pub fn hidden(name: &str, value: impl Into<String>) -> Field {
        Field {
            value: value.into(),
            ..Field::new(name, String::new(), FieldKind::Hidden)
        }
    }

    pub fn required(mut self) -> Field {
        self.required = true;
        self
    }

    pub fn value(mut self, v: impl Into<String>) -> Field {
        self.value = v.into();
        self
    }

    pub fn hint(mut self, h: impl Into<String>) -> Field {
        self.hint = Some(h.into());
        self
    }

    /// The DOM id of the input (label `for`, error `aria-describedby`).
    pub fn dom_id(&self, form: &Form) -> String {
        let name: String = self
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        format!("{}-{name}", form.id)
    }

    /// The ids of the hint and the error that describe the input (`aria-describedby`).
    pub fn described_by(&self, form: &Form) -> String {
        let id = self.dom_id(form);
        let mut ids = Vec::new();
        if self.hint.is_some() {
            ids.push(format!("{id}-hint"));
        }
        if self.error.is_some() {
            ids.push(format!("{id}-error"));
        }
        ids.join(" ")
    }

    pub fn is_hidden(&self) -> bool {
        matches!(self.kind, FieldKind::Hidden)
    }

    pub fn input_type(&self) -> &'static str {
        match self.kind {
            FieldKind::Email => "email",
            FieldKind::Password => "password",
            FieldKind::Number => "text",
            FieldKind::File => "file",
            FieldKind::Checkbox => "checkbox",
            FieldKind::Hidden => "hidden",
            _ => "text",
        }
    }

    pub fn is_textarea(&self) -> bool {
        matches!(self.kind, FieldKind::Textarea)
    }

    pub fn options(&self) -> Option<&[(String, String)]> {
        match &self.kind {
            FieldKind::Select(o) => Some(o),
            _ => None,
        }
    }

    pub fn inputmode(&self) -> &'static str {
        match self.kind {
            FieldKind::Number => "decimal",
            _ => "text",
        }
    }
}

impl Form {
    /// A form posting to `action` with a submit button; add fields with [`Form::field`].
    pub fn post(id: &str, action: &str, submit: String) -> Form {
        Form {
            id: id.to_owned(),
            action: action.to_owned(),
            method: "post",
            multipart: false,
            fields: Vec::new(),
            submit,
            error: None,
            compact: false,
            live_target: None,
        }
    }

    pub fn get(id: &str, action: &str, submit: String) -> Form {
        Form {
            method: "get",
            ..Form::post(id, action, submit)
        }
    }

    pub fn field(mut self, f: Field) -> Form {
        self.fields.push(f);
        self
    }

    pub fn compact(mut self) -> Form {
        self.compact = true;
        self
    }

    pub fn multipart(mut self) -> Form {
        self.multipart = true;
        self
    }

    pub fn enctype(&self) -> &'static str {
        if self.multipart {
            "multipart/form-data"
        } else {
            "application/x-www-form-urlencoded"
        }
    }
}
