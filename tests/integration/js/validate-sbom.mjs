// Validates a CycloneDX 1.6 JSON document (argv[2]) against the official schema, as published in
// @cyclonedx/cyclonedx-library (res/schema/), with ajv. Prints {"valid": bool, "errors": [...]}.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import Ajv from "ajv";
import addFormats from "ajv-formats";

const require = createRequire(import.meta.url);
const library = dirname(require.resolve("@cyclonedx/cyclonedx-library/package.json"));
const schema = (name) => JSON.parse(readFileSync(join(library, "res", "schema", name), "utf8"));

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
// iri-reference and idn-email are not in ajv-formats; the schema's own pattern-free reading.
ajv.addFormat("iri-reference", true);
ajv.addFormat("idn-email", true);
// The library's copies refer to each other by their file names.
for (const name of ["spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"]) {
  ajv.addSchema({ ...schema(name), $id: `http://cyclonedx.org/schema/${name}` });
}
const validate = ajv.compile(schema("bom-1.6.SNAPSHOT.schema.json"));

const document = JSON.parse(readFileSync(process.argv[2], "utf8"));
const valid = validate(document);
console.log(JSON.stringify({ valid, errors: validate.errors ?? [] }));
