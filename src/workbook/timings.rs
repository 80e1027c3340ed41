//! The timings an instructor plans with, checked: each chapter's "Timing for instructors" table
//! adds up to its own total, and the instructor's guide's course outline gives each chapter
//! exactly that total and adds up to its own. A timing that drifts when a chapter grows is
//! caught here instead of in front of a class.

use std::path::Path;

/// One table: its rows (label, minutes) and the total it states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimingTable {
    pub rows: Vec<(String, u32)>,
    pub total: u32,
}

impl TimingTable {
    pub fn sum(&self) -> u32 {
        self.rows.iter().map(|(_, minutes)| minutes).sum()
    }
}

/// `90 min`, `2 h`, `2 h 35 min`, `about 2 hours 25 minutes`, in bold or not → minutes.
pub fn parse_duration(text: &str) -> Option<u32> {
    let cleaned = text.replace("**", "").replace("about", "");
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    if words.is_empty() {
        return None;
    }
    let mut minutes = 0;
    for pair in words.chunks(2) {
        let [number, unit] = pair else { return None };
        let number: u32 = number.parse().ok()?;
        minutes += match *unit {
            "min" | "mins" | "minute" | "minutes" => number,
            "h" | "hour" | "hours" => number * 60,
            _ => return None,
        };
    }
    Some(minutes)
}

/// The first table under `## {heading}`, with its `**Total**` row taken out.
pub fn table_under(markdown: &str, heading: &str) -> Result<TimingTable, String> {
    let start = markdown
        .find(&format!("## {heading}\n"))
        .ok_or_else(|| format!("no \"## {heading}\" section"))?;
    let mut rows = Vec::new();
    let mut total = None;
    let mut in_table = false;
    for line in markdown[start..].lines().skip(1) {
        let line = line.trim();
        if !line.starts_with('|') {
            if in_table {
                break;
            }
            continue;
        }
        in_table = true;
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let [label, time] = cells[..] else {
            return Err(format!("a row of \"{heading}\" without two cells: {line}"));
        };
        if time.starts_with("---") || time == "Time" {
            continue;
        }
        let minutes = parse_duration(time)
            .ok_or_else(|| format!("\"{time}\" in \"{heading}\" is not a duration like 90 min"))?;
        if label.contains("Total") {
            total = Some(minutes);
        } else {
            rows.push((label.to_owned(), minutes));
        }
    }
    let total = total.ok_or_else(|| format!("the \"{heading}\" table has no **Total** row"))?;
    Ok(TimingTable { rows, total })
}

/// The guide's table of minutes per step: chapter number → (each step's minutes, the stated
/// total of the exercise). Rows look like `| 2 | 5 · 10 · 15 | 30 min | … |`.
pub fn steps_table(markdown: &str) -> Result<Vec<(u32, Vec<u32>, u32)>, String> {
    let start = markdown
        .find("| Chapter | Minutes per step |")
        .ok_or("no \"| Chapter | Minutes per step |\" table")?;
    let mut rows = Vec::new();
    for line in markdown[start..].lines().skip(1) {
        let line = line.trim();
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if cells.first().is_some_and(|cell| cell.starts_with("---")) {
            continue;
        }
        let [chapter, steps, exercise, ..] = cells[..] else {
            return Err(format!(
                "a row of the minutes per step without three cells: {line}"
            ));
        };
        let chapter: u32 = chapter
            .parse()
            .map_err(|_| format!("\"{chapter}\" is not a chapter number: {line}"))?;
        let steps = steps
            .split('·')
            .map(|minutes| minutes.trim().parse::<u32>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| format!("\"{steps}\" is not minutes separated by ·: {line}"))?;
        let exercise = parse_duration(exercise)
            .ok_or_else(|| format!("\"{exercise}\" is not a duration: {line}"))?;
        rows.push((chapter, steps, exercise));
    }
    Ok(rows)
}

/// Every inconsistency between the chapters' timings and the guide's course outline.
pub fn check(book_src: &Path) -> Result<TimingTable, Vec<String>> {
    let mut problems = Vec::new();
    let read = |relative: &str| std::fs::read_to_string(book_src.join(relative));
    let outline = match read("instructor/index.md")
        .map_err(|e| e.to_string())
        .and_then(|page| table_under(&page, "Course outline"))
    {
        Ok(outline) => outline,
        Err(problem) => return Err(vec![format!("instructor/index.md: {problem}")]),
    };
    if outline.sum() != outline.total {
        problems.push(format!(
            "instructor/index.md: the course outline's rows add up to {} min, its Total says {} min",
            outline.sum(),
            outline.total
        ));
    }
    let per_step = match read("instructor/index.md")
        .map_err(|e| e.to_string())
        .and_then(|page| steps_table(&page))
    {
        Ok(rows) => rows,
        Err(problem) => return Err(vec![format!("instructor/index.md: {problem}")]),
    };
    let mut chapters: Vec<String> = std::fs::read_dir(book_src)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|name| {
                    name.len() > 3 && name.as_bytes()[..2].iter().all(u8::is_ascii_digit)
                })
                .collect()
        })
        .unwrap_or_default();
    chapters.sort();
    for chapter in &chapters {
        let number: u32 = chapter[..2].parse().unwrap_or(0);
        let Some((_, planned)) = outline
            .rows
            .iter()
            .find(|(label, _)| label.split_whitespace().next() == Some(&number.to_string()))
        else {
            problems.push(format!(
                "the course outline has no row for chapter {number}"
            ));
            continue;
        };
        if number == 0 {
            continue;
        }
        match read(&format!("{chapter}/index.md"))
            .map_err(|e| e.to_string())
            .and_then(|page| table_under(&page, "Timing for instructors"))
        {
            Err(problem) => problems.push(format!("{chapter}: {problem}")),
            Ok(table) => {
                if table.sum() != table.total {
                    problems.push(format!(
                        "{chapter}: the timing rows add up to {} min, its Total says {} min",
                        table.sum(),
                        table.total
                    ));
                }
                let steps: Vec<u32> = table
                    .rows
                    .iter()
                    .filter(|(label, _)| label.starts_with("Step "))
                    .map(|(_, minutes)| *minutes)
                    .collect();
                match per_step.iter().find(|(n, _, _)| *n == number) {
                    None => problems.push(format!(
                        "instructor/index.md: the minutes per step have no row for chapter {number}"
                    )),
                    Some((_, listed, exercise)) => {
                        if *listed != steps {
                            problems.push(format!(
                                "instructor/index.md: chapter {number}'s minutes per step are {listed:?}; its own table says {steps:?}"
                            ));
                        }
                        if listed.iter().sum::<u32>() != *exercise {
                            problems.push(format!(
                                "instructor/index.md: chapter {number}'s steps add up to {} min, its Exercise column says {exercise} min",
                                listed.iter().sum::<u32>()
                            ));
                        }
                    }
                }
                if *planned != table.total {
                    problems.push(format!(
                        "the course outline plans {planned} min for chapter {number}; the chapter says {} min",
                        table.total
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(outline)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_read_as_people_write_them() {
        assert_eq!(parse_duration("90 min"), Some(90));
        assert_eq!(parse_duration("**about 2 h 35 min**"), Some(155));
        assert_eq!(parse_duration("about 2 hours 25 minutes"), Some(145));
        assert_eq!(parse_duration("2 h"), Some(120));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("5"), None);
    }

    #[test]
    fn the_minutes_per_step_are_read_row_by_row() {
        let page = "## Outline\n\n| Chapter | Minutes per step | Exercise | Pair up at |\n|---|---|---|---|\n| 1 | 5 · 10 · 20 | 35 min | step 3 |\n| 2 | 15 | 15 min | step 1 |\n\nAfter.\n";
        assert_eq!(
            steps_table(page).unwrap(),
            [(1, vec![5, 10, 20], 35), (2, vec![15], 15)]
        );
        assert!(steps_table("| Chapter | Time |").is_err());
    }

    #[test]
    fn a_table_is_read_with_its_total() {
        let page = "# X\n\n## Timing for instructors\n\n| Part | Time |\n|---|---|\n| Read | 20 min |\n| Step 1 | 10 min |\n| **Total** | **about 30 min** |\n\nAfter.\n| not | this |\n";
        let table = table_under(page, "Timing for instructors").unwrap();
        assert_eq!(table.rows.len(), 2);
        assert_eq!((table.sum(), table.total), (30, 30));
        assert!(
            table_under(
                "## Timing for instructors\n| a | 5 min |\n",
                "Timing for instructors"
            )
            .is_err()
        );
    }
}
