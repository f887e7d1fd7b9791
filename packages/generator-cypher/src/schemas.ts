// Domain schemas for the Cypher generator: labels with typed properties (and sample values), relationship types
// with the words that describe them. Every name and value here is invented for this dataset.

export type PropType = "string" | "int" | "float" | "bool";

export interface PropDef {
  key: string;
  type: PropType;
  /** How a question names it: "age", "release year". */
  noun: string;
  /** Sample values; strings never contain quotes or backslashes. */
  values: readonly (string | number | boolean)[];
  /** "years", "dollars": appended to numbers in questions. */
  unit?: string;
}

export interface LabelDef {
  label: string;
  singular: string;
  plural: string;
  /** Variable used in queries. */
  v: string;
  /** The property that names an instance (name, title, code...). */
  key: string;
  props: readonly PropDef[];
}

export interface RelDef {
  type: string;
  from: string;
  to: string;
  /** "{from} {verb} {to}": "knows", "acted in". */
  verb: string;
  /** For questions from the target's side: "{to} {passive} by {from}"; "is known", "was directed". */
  passive: string;
  props?: readonly PropDef[];
}

export interface Schema {
  name: string;
  /** "a social network" */
  description: string;
  labels: readonly LabelDef[];
  rels: readonly RelDef[];
}

const FIRST_NAMES = [
  "Alice",
  "Bruno",
  "Chen",
  "Dana",
  "Emeka",
  "Farah",
  "Goran",
  "Hana",
  "Ivan",
  "Jonas",
  "Keiko",
  "Liam",
  "Maya",
  "Nils",
  "Olga",
  "Priya",
  "Quinn",
  "Rosa",
  "Sven",
  "Tariq",
];
const CITIES = ["Berlin", "Lagos", "Lima", "Oslo", "Osaka", "Porto", "Quito", "Seoul", "Tunis", "Vienna", "Austin", "Bergen"];
const COUNTRIES = ["Norway", "Peru", "Japan", "Kenya", "Chile", "Spain", "Canada", "Ghana", "India", "Poland"];

export const SCHEMAS: readonly Schema[] = [
  {
    name: "social",
    description: "a social network",
    labels: [
      {
        label: "Person",
        singular: "person",
        plural: "people",
        v: "p",
        key: "name",
        props: [
          { key: "name", type: "string", noun: "name", values: FIRST_NAMES },
          { key: "age", type: "int", noun: "age", values: [18, 21, 25, 30, 35, 40, 45, 50, 60, 65], unit: "years" },
          { key: "city", type: "string", noun: "city", values: CITIES },
          { key: "verified", type: "bool", noun: "verified flag", values: [true, false] },
        ],
      },
      {
        label: "Post",
        singular: "post",
        plural: "posts",
        v: "post",
        key: "title",
        props: [
          {
            key: "title",
            type: "string",
            noun: "title",
            values: [
              "Morning run",
              "New job",
              "Trip to Oslo",
              "Garden update",
              "Book club notes",
              "Recipe swap",
              "Concert night",
              "First marathon",
            ],
          },
          { key: "likes", type: "int", noun: "number of likes", values: [0, 5, 10, 50, 100, 250, 500, 1000] },
          { key: "year", type: "int", noun: "year", values: [2019, 2020, 2021, 2022, 2023, 2024] },
        ],
      },
      {
        label: "Group",
        singular: "group",
        plural: "groups",
        v: "g",
        key: "name",
        props: [
          {
            key: "name",
            type: "string",
            noun: "name",
            values: ["Hikers", "Chess Club", "Night Owls", "Bakers", "Cyclists", "Photographers", "Gardeners", "Runners"],
          },
          { key: "members", type: "int", noun: "member count", values: [10, 25, 50, 100, 500, 1000] },
        ],
      },
    ],
    rels: [
      {
        type: "KNOWS",
        from: "Person",
        to: "Person",
        verb: "know",
        passive: "are known",
        props: [{ key: "since", type: "int", noun: "year they met", values: [2010, 2015, 2018, 2020, 2022] }],
      },
      { type: "FOLLOWS", from: "Person", to: "Person", verb: "follow", passive: "are followed" },
      { type: "WROTE", from: "Person", to: "Post", verb: "wrote", passive: "were written" },
      { type: "LIKED", from: "Person", to: "Post", verb: "liked", passive: "were liked" },
      {
        type: "MEMBER_OF",
        from: "Person",
        to: "Group",
        verb: "belong to",
        passive: "have as a member",
        props: [{ key: "role", type: "string", noun: "role", values: ["admin", "moderator", "member"] }],
      },
    ],
  },
  {
    name: "movies",
    description: "a movie database",
    labels: [
      {
        label: "Movie",
        singular: "movie",
        plural: "movies",
        v: "m",
        key: "title",
        props: [
          {
            key: "title",
            type: "string",
            noun: "title",
            values: [
              "Silent Harbor",
              "Glass Orbit",
              "The Last Ferry",
              "Neon Tides",
              "Paper Kings",
              "Cold Summit",
              "Velvet Road",
              "Iron Bloom",
              "Quiet Storm",
              "Echo Valley",
            ],
          },
          { key: "released", type: "int", noun: "release year", values: [1985, 1994, 1999, 2003, 2008, 2012, 2016, 2020, 2023] },
          { key: "rating", type: "float", noun: "rating", values: [5.5, 6.0, 6.8, 7.2, 7.5, 8.0, 8.5, 9.1] },
          { key: "genre", type: "string", noun: "genre", values: ["drama", "comedy", "thriller", "documentary", "animation", "western"] },
        ],
      },
      {
        label: "Person",
        singular: "person",
        plural: "people",
        v: "p",
        key: "name",
        props: [
          {
            key: "name",
            type: "string",
            noun: "name",
            values: ["Ana Ruiz", "Ben Okafor", "Cleo Marsh", "Dev Patel", "Eli Novak", "Fay Lund", "Gus Arden", "Ines Faro"],
          },
          { key: "born", type: "int", noun: "birth year", values: [1950, 1960, 1965, 1970, 1975, 1980, 1990] },
        ],
      },
      {
        label: "Studio",
        singular: "studio",
        plural: "studios",
        v: "s",
        key: "name",
        props: [
          { key: "name", type: "string", noun: "name", values: ["North Light", "Red Kite", "Blue Lantern", "Harbor Films", "Stone Arch"] },
          { key: "founded", type: "int", noun: "founding year", values: [1920, 1950, 1978, 1990, 2005] },
        ],
      },
    ],
    rels: [
      {
        type: "ACTED_IN",
        from: "Person",
        to: "Movie",
        verb: "acted in",
        passive: "were acted in",
        props: [{ key: "role", type: "string", noun: "role", values: ["lead", "villain", "narrator", "cameo"] }],
      },
      { type: "DIRECTED", from: "Person", to: "Movie", verb: "directed", passive: "were directed" },
      { type: "PRODUCED", from: "Studio", to: "Movie", verb: "produced", passive: "were produced" },
      {
        type: "REVIEWED",
        from: "Person",
        to: "Movie",
        verb: "reviewed",
        passive: "were reviewed",
        props: [{ key: "stars", type: "int", noun: "stars", values: [1, 2, 3, 4, 5] }],
      },
    ],
  },
  {
    name: "shop",
    description: "an online shop",
    labels: [
      {
        label: "Customer",
        singular: "customer",
        plural: "customers",
        v: "c",
        key: "name",
        props: [
          { key: "name", type: "string", noun: "name", values: FIRST_NAMES.slice(0, 12) },
          { key: "country", type: "string", noun: "country", values: COUNTRIES },
          { key: "tier", type: "string", noun: "loyalty tier", values: ["bronze", "silver", "gold", "platinum"] },
          { key: "age", type: "int", noun: "age", values: [19, 24, 31, 38, 44, 52, 67], unit: "years" },
        ],
      },
      {
        label: "Product",
        singular: "product",
        plural: "products",
        v: "pr",
        key: "name",
        props: [
          {
            key: "name",
            type: "string",
            noun: "name",
            values: [
              "Desk Lamp",
              "Trail Shoes",
              "Coffee Grinder",
              "Wool Scarf",
              "Phone Case",
              "Yoga Mat",
              "Tea Kettle",
              "Backpack",
              "Headphones",
              "Notebook",
            ],
          },
          { key: "price", type: "float", noun: "price", values: [4.99, 9.5, 19.99, 25.0, 49.9, 79.0, 120.0, 249.99], unit: "dollars" },
          { key: "stock", type: "int", noun: "stock level", values: [0, 3, 10, 25, 100, 500] },
          {
            key: "category",
            type: "string",
            noun: "category",
            values: ["kitchen", "outdoor", "electronics", "office", "clothing", "sports"],
          },
        ],
      },
      {
        label: "Order",
        singular: "order",
        plural: "orders",
        v: "o",
        key: "number",
        props: [
          {
            key: "number",
            type: "string",
            noun: "order number",
            values: ["A-1001", "A-1002", "B-2040", "B-2041", "C-3300", "C-3307", "D-4512"],
          },
          { key: "total", type: "float", noun: "total", values: [12.5, 30.0, 64.99, 99.0, 150.25, 420.0], unit: "dollars" },
          { key: "status", type: "string", noun: "status", values: ["pending", "shipped", "delivered", "cancelled", "returned"] },
        ],
      },
      {
        label: "Supplier",
        singular: "supplier",
        plural: "suppliers",
        v: "s",
        key: "name",
        props: [
          { key: "name", type: "string", noun: "name", values: ["Acme Parts", "Northwind", "Sunrise Goods", "Blue River", "Peak Supply"] },
          { key: "country", type: "string", noun: "country", values: COUNTRIES.slice(0, 6) },
        ],
      },
    ],
    rels: [
      { type: "PLACED", from: "Customer", to: "Order", verb: "placed", passive: "were placed" },
      {
        type: "CONTAINS",
        from: "Order",
        to: "Product",
        verb: "contain",
        passive: "are contained",
        props: [{ key: "quantity", type: "int", noun: "quantity", values: [1, 2, 3, 5, 10] }],
      },
      { type: "SUPPLIES", from: "Supplier", to: "Product", verb: "supply", passive: "are supplied" },
      {
        type: "RATED",
        from: "Customer",
        to: "Product",
        verb: "rated",
        passive: "were rated",
        props: [{ key: "score", type: "int", noun: "score", values: [1, 2, 3, 4, 5] }],
      },
    ],
  },
  {
    name: "company",
    description: "a company's organisation chart",
    labels: [
      {
        label: "Employee",
        singular: "employee",
        plural: "employees",
        v: "e",
        key: "name",
        props: [
          { key: "name", type: "string", noun: "name", values: FIRST_NAMES.slice(4, 18) },
          {
            key: "title",
            type: "string",
            noun: "job title",
            values: ["engineer", "analyst", "designer", "manager", "recruiter", "accountant"],
          },
          { key: "salary", type: "int", noun: "salary", values: [40000, 55000, 70000, 85000, 100000, 130000], unit: "dollars" },
          { key: "hired", type: "int", noun: "hiring year", values: [2008, 2012, 2015, 2018, 2020, 2022, 2024] },
        ],
      },
      {
        label: "Department",
        singular: "department",
        plural: "departments",
        v: "d",
        key: "name",
        props: [
          { key: "name", type: "string", noun: "name", values: ["Sales", "Research", "Finance", "Support", "Legal", "Marketing"] },
          { key: "budget", type: "int", noun: "budget", values: [100000, 250000, 500000, 1000000, 2000000], unit: "dollars" },
        ],
      },
      {
        label: "Project",
        singular: "project",
        plural: "projects",
        v: "pj",
        key: "name",
        props: [
          { key: "name", type: "string", noun: "name", values: ["Apollo", "Birch", "Cobalt", "Delta", "Ember", "Falcon", "Granite"] },
          { key: "status", type: "string", noun: "status", values: ["planned", "active", "paused", "done"] },
          { key: "priority", type: "int", noun: "priority", values: [1, 2, 3, 4, 5] },
        ],
      },
      {
        label: "Skill",
        singular: "skill",
        plural: "skills",
        v: "sk",
        key: "name",
        props: [
          {
            key: "name",
            type: "string",
            noun: "name",
            values: ["Python", "Go", "SQL", "Negotiation", "Design", "Statistics", "Cypher", "Kubernetes"],
          },
        ],
      },
    ],
    rels: [
      {
        type: "WORKS_IN",
        from: "Employee",
        to: "Department",
        verb: "work in",
        passive: "employ",
        props: [{ key: "since", type: "int", noun: "start year", values: [2010, 2016, 2019, 2021, 2023] }],
      },
      { type: "REPORTS_TO", from: "Employee", to: "Employee", verb: "report to", passive: "are reported to" },
      {
        type: "ASSIGNED_TO",
        from: "Employee",
        to: "Project",
        verb: "are assigned to",
        passive: "have assigned",
        props: [{ key: "hours", type: "int", noun: "weekly hours", values: [4, 8, 16, 20, 40] }],
      },
      {
        type: "HAS_SKILL",
        from: "Employee",
        to: "Skill",
        verb: "have",
        passive: "are held",
        props: [{ key: "level", type: "int", noun: "level", values: [1, 2, 3, 4, 5] }],
      },
    ],
  },
  {
    name: "flights",
    description: "an airline route network",
    labels: [
      {
        label: "Airport",
        singular: "airport",
        plural: "airports",
        v: "a",
        key: "code",
        props: [
          {
            key: "code",
            type: "string",
            noun: "code",
            values: ["OSL", "LIM", "KIX", "NBO", "SCL", "MAD", "YUL", "ACC", "DEL", "WAW", "LIS", "VIE"],
          },
          { key: "city", type: "string", noun: "city", values: CITIES },
          { key: "runways", type: "int", noun: "number of runways", values: [1, 2, 3, 4, 6] },
        ],
      },
      {
        label: "Airline",
        singular: "airline",
        plural: "airlines",
        v: "al",
        key: "name",
        props: [
          {
            key: "name",
            type: "string",
            noun: "name",
            values: ["Fjord Air", "Andes Wings", "Sakura Jet", "Savanna Air", "Iberia Blue", "Maple Sky"],
          },
          { key: "fleet", type: "int", noun: "fleet size", values: [12, 40, 85, 150, 300] },
        ],
      },
      {
        label: "Flight",
        singular: "flight",
        plural: "flights",
        v: "f",
        key: "number",
        props: [
          { key: "number", type: "string", noun: "flight number", values: ["FA101", "FA205", "AW330", "SJ712", "SV048", "IB990", "MS221"] },
          { key: "duration", type: "int", noun: "duration", values: [45, 90, 120, 180, 300, 540, 720], unit: "minutes" },
          { key: "price", type: "float", noun: "fare", values: [59.0, 120.5, 199.99, 349.0, 780.0], unit: "dollars" },
        ],
      },
    ],
    rels: [
      {
        type: "ROUTE",
        from: "Airport",
        to: "Airport",
        verb: "have a route to",
        passive: "are reached by a route",
        props: [{ key: "distance", type: "int", noun: "distance", values: [300, 800, 1500, 3000, 6000, 9000], unit: "km" }],
      },
      { type: "DEPARTS_FROM", from: "Flight", to: "Airport", verb: "depart from", passive: "are departed from" },
      { type: "ARRIVES_AT", from: "Flight", to: "Airport", verb: "arrive at", passive: "are arrived at" },
      { type: "OPERATED_BY", from: "Flight", to: "Airline", verb: "are operated by", passive: "operate" },
    ],
  },
  {
    name: "library",
    description: "a library catalogue",
    labels: [
      {
        label: "Book",
        singular: "book",
        plural: "books",
        v: "b",
        key: "title",
        props: [
          {
            key: "title",
            type: "string",
            noun: "title",
            values: [
              "River of Salt",
              "The Clockmaker",
              "Winter Atlas",
              "Small Gods of Rain",
              "Northern Lines",
              "The Glass Key Maker",
              "Lanterns",
              "Quiet Numbers",
              "Tidewater",
            ],
          },
          { key: "year", type: "int", noun: "publication year", values: [1951, 1972, 1988, 1995, 2004, 2011, 2019, 2022] },
          { key: "pages", type: "int", noun: "page count", values: [120, 200, 288, 350, 480, 640] },
          { key: "language", type: "string", noun: "language", values: ["English", "Spanish", "Norwegian", "Japanese", "Polish"] },
        ],
      },
      {
        label: "Author",
        singular: "author",
        plural: "authors",
        v: "au",
        key: "name",
        props: [
          {
            key: "name",
            type: "string",
            noun: "name",
            values: ["Mira Holt", "Tomas Vega", "Aiko Mori", "Jon Berg", "Lena Wojcik", "Sam Oduya", "Rita Sol"],
          },
          { key: "born", type: "int", noun: "birth year", values: [1920, 1945, 1960, 1971, 1983] },
        ],
      },
      {
        label: "Topic",
        singular: "topic",
        plural: "topics",
        v: "t",
        key: "name",
        props: [
          {
            key: "name",
            type: "string",
            noun: "name",
            values: ["history", "physics", "poetry", "travel", "cooking", "economics", "mythology"],
          },
        ],
      },
      {
        label: "Member",
        singular: "library member",
        plural: "library members",
        v: "mb",
        key: "name",
        props: [
          { key: "name", type: "string", noun: "name", values: FIRST_NAMES.slice(8, 20) },
          { key: "joined", type: "int", noun: "joining year", values: [2005, 2012, 2016, 2020, 2023] },
        ],
      },
    ],
    rels: [
      { type: "WROTE", from: "Author", to: "Book", verb: "wrote", passive: "were written" },
      { type: "ABOUT", from: "Book", to: "Topic", verb: "are about", passive: "are covered" },
      { type: "CITES", from: "Book", to: "Book", verb: "cite", passive: "are cited" },
      {
        type: "BORROWED",
        from: "Member",
        to: "Book",
        verb: "borrowed",
        passive: "were borrowed",
        props: [{ key: "days", type: "int", noun: "loan length", values: [7, 14, 21, 30], unit: "days" }],
      },
    ],
  },
  {
    name: "infrastructure",
    description: "an IT infrastructure inventory",
    labels: [
      {
        label: "Server",
        singular: "server",
        plural: "servers",
        v: "sv",
        key: "hostname",
        props: [
          {
            key: "hostname",
            type: "string",
            noun: "hostname",
            values: ["web-01", "web-02", "db-01", "db-02", "cache-01", "queue-01", "auth-01", "batch-07"],
          },
          { key: "os", type: "string", noun: "operating system", values: ["debian", "ubuntu", "alpine", "windows", "freebsd"] },
          { key: "cores", type: "int", noun: "core count", values: [2, 4, 8, 16, 32, 64] },
          { key: "memoryGb", type: "int", noun: "memory", values: [4, 8, 16, 32, 64, 128], unit: "GB" },
        ],
      },
      {
        label: "Service",
        singular: "service",
        plural: "services",
        v: "svc",
        key: "name",
        props: [
          {
            key: "name",
            type: "string",
            noun: "name",
            values: ["checkout", "search", "billing", "login", "reports", "notifications", "inventory"],
          },
          { key: "port", type: "int", noun: "port", values: [80, 443, 5432, 6379, 8080, 9090] },
          { key: "version", type: "string", noun: "version", values: ["1.0.0", "1.4.2", "2.0.1", "2.3.0", "3.1.5"] },
        ],
      },
      {
        label: "Vulnerability",
        singular: "vulnerability",
        plural: "vulnerabilities",
        v: "vu",
        key: "id",
        props: [
          {
            key: "id",
            type: "string",
            noun: "identifier",
            values: ["VULN-101", "VULN-214", "VULN-377", "VULN-482", "VULN-590", "VULN-613"],
          },
          { key: "severity", type: "string", noun: "severity", values: ["low", "medium", "high", "critical"] },
          { key: "score", type: "float", noun: "score", values: [3.1, 4.7, 5.9, 7.2, 8.8, 9.8] },
        ],
      },
      {
        label: "Team",
        singular: "team",
        plural: "teams",
        v: "tm",
        key: "name",
        props: [
          { key: "name", type: "string", noun: "name", values: ["Platform", "Payments", "Identity", "Data", "Edge"] },
          { key: "oncall", type: "string", noun: "on-call person", values: ["Alice", "Ivan", "Keiko", "Tariq", "Rosa"] },
        ],
      },
    ],
    rels: [
      { type: "RUNS", from: "Server", to: "Service", verb: "run", passive: "are run" },
      { type: "DEPENDS_ON", from: "Service", to: "Service", verb: "depend on", passive: "are depended on" },
      { type: "AFFECTS", from: "Vulnerability", to: "Service", verb: "affect", passive: "are affected" },
      { type: "OWNS", from: "Team", to: "Service", verb: "own", passive: "are owned" },
      {
        type: "CONNECTS_TO",
        from: "Server",
        to: "Server",
        verb: "connect to",
        passive: "are connected to",
        props: [{ key: "latencyMs", type: "int", noun: "latency", values: [1, 5, 10, 25, 50], unit: "ms" }],
      },
    ],
  },
  {
    name: "healthcare",
    description: "a hospital network",
    labels: [
      {
        label: "Patient",
        singular: "patient",
        plural: "patients",
        v: "pt",
        key: "id",
        props: [
          {
            key: "id",
            type: "string",
            noun: "patient id",
            values: ["P-001", "P-002", "P-017", "P-023", "P-104", "P-215", "P-318", "P-402"],
          },
          { key: "age", type: "int", noun: "age", values: [4, 17, 29, 42, 56, 63, 71, 88], unit: "years" },
          { key: "bloodType", type: "string", noun: "blood type", values: ["A+", "A-", "B+", "O+", "O-", "AB+"] },
          { key: "insured", type: "bool", noun: "insurance flag", values: [true, false] },
        ],
      },
      {
        label: "Doctor",
        singular: "doctor",
        plural: "doctors",
        v: "dr",
        key: "name",
        props: [
          { key: "name", type: "string", noun: "name", values: ["Dr Amara", "Dr Berg", "Dr Cruz", "Dr Dahl", "Dr Eze", "Dr Fong"] },
          {
            key: "specialty",
            type: "string",
            noun: "specialty",
            values: ["cardiology", "oncology", "pediatrics", "neurology", "radiology"],
          },
          { key: "experience", type: "int", noun: "years of experience", values: [2, 5, 10, 15, 25] },
        ],
      },
      {
        label: "Hospital",
        singular: "hospital",
        plural: "hospitals",
        v: "h",
        key: "name",
        props: [
          { key: "name", type: "string", noun: "name", values: ["St Olav", "Riverside", "Hillcrest", "Northgate", "Lakeview"] },
          { key: "beds", type: "int", noun: "bed count", values: [80, 150, 300, 600, 1200] },
          { key: "city", type: "string", noun: "city", values: CITIES.slice(0, 6) },
        ],
      },
      {
        label: "Condition",
        singular: "condition",
        plural: "conditions",
        v: "cd",
        key: "name",
        props: [
          { key: "name", type: "string", noun: "name", values: ["asthma", "diabetes", "migraine", "anemia", "arthritis", "hypertension"] },
          { key: "chronic", type: "bool", noun: "chronic flag", values: [true, false] },
        ],
      },
    ],
    rels: [
      {
        type: "TREATED_BY",
        from: "Patient",
        to: "Doctor",
        verb: "are treated by",
        passive: "treat",
        props: [{ key: "visits", type: "int", noun: "number of visits", values: [1, 2, 4, 8, 12] }],
      },
      { type: "WORKS_AT", from: "Doctor", to: "Hospital", verb: "work at", passive: "employ" },
      {
        type: "ADMITTED_TO",
        from: "Patient",
        to: "Hospital",
        verb: "were admitted to",
        passive: "admitted",
        props: [{ key: "days", type: "int", noun: "length of stay", values: [1, 3, 7, 14, 30], unit: "days" }],
      },
      { type: "DIAGNOSED_WITH", from: "Patient", to: "Condition", verb: "are diagnosed with", passive: "affect" },
      { type: "REFERRED", from: "Doctor", to: "Doctor", verb: "referred patients to", passive: "received referrals from" },
    ],
  },
  {
    name: "music",
    description: "a music streaming catalogue",
    labels: [
      {
        label: "Artist",
        singular: "artist",
        plural: "artists",
        v: "ar",
        key: "name",
        props: [
          {
            key: "name",
            type: "string",
            noun: "name",
            values: ["Lumen", "The Drifts", "Okra Bloom", "Nova Vale", "Paper Moons", "Sable", "Kite Runner Band"],
          },
          { key: "country", type: "string", noun: "country", values: COUNTRIES.slice(0, 7) },
          { key: "listeners", type: "int", noun: "monthly listeners", values: [1000, 25000, 100000, 750000, 2000000] },
        ],
      },
      {
        label: "Album",
        singular: "album",
        plural: "albums",
        v: "alb",
        key: "title",
        props: [
          {
            key: "title",
            type: "string",
            noun: "title",
            values: ["Low Tide", "Static Hearts", "Northbound", "Ember Songs", "Glasswork", "Open Fields", "Night Market"],
          },
          { key: "year", type: "int", noun: "release year", values: [1999, 2007, 2013, 2018, 2021, 2024] },
          { key: "tracks", type: "int", noun: "track count", values: [6, 8, 10, 12, 15] },
        ],
      },
      {
        label: "Track",
        singular: "track",
        plural: "tracks",
        v: "tr",
        key: "title",
        props: [
          {
            key: "title",
            type: "string",
            noun: "title",
            values: ["Harbor Lights", "Run Slow", "Copper Sky", "Fever Dream", "Long Way Home", "Salt and Honey", "Undertow", "Blue Hour"],
          },
          { key: "seconds", type: "int", noun: "length", values: [150, 180, 210, 240, 300, 420], unit: "seconds" },
          { key: "explicit", type: "bool", noun: "explicit flag", values: [true, false] },
        ],
      },
      {
        label: "Playlist",
        singular: "playlist",
        plural: "playlists",
        v: "pl",
        key: "name",
        props: [
          {
            key: "name",
            type: "string",
            noun: "name",
            values: ["Focus", "Road Trip", "Rainy Day", "Workout", "Sunday Morning", "Late Night"],
          },
          { key: "followers", type: "int", noun: "follower count", values: [10, 500, 5000, 40000, 250000] },
        ],
      },
    ],
    rels: [
      { type: "RELEASED", from: "Artist", to: "Album", verb: "released", passive: "were released" },
      {
        type: "HAS_TRACK",
        from: "Album",
        to: "Track",
        verb: "have",
        passive: "are on",
        props: [{ key: "position", type: "int", noun: "track position", values: [1, 2, 3, 5, 8] }],
      },
      { type: "IN_PLAYLIST", from: "Track", to: "Playlist", verb: "are in", passive: "contain" },
      { type: "COLLABORATED_WITH", from: "Artist", to: "Artist", verb: "collaborated with", passive: "were joined by" },
      { type: "INFLUENCED", from: "Artist", to: "Artist", verb: "influenced", passive: "were influenced" },
    ],
  },
];

export function labelOf(schema: Schema, label: string): LabelDef {
  const found = schema.labels.find((l) => l.label === label);
  if (!found) throw new Error(`schema ${schema.name} has no label ${label}`);
  return found;
}

/** The schema as a prompt would show it: node labels with typed properties, then relationship patterns. */
export function describeSchema(schema: Schema): string {
  const type = (t: PropType) => ({ string: "STRING", int: "INTEGER", float: "FLOAT", bool: "BOOLEAN" })[t];
  const nodes = schema.labels.map((l) => `(:${l.label} {${l.props.map((p) => `${p.key}: ${type(p.type)}`).join(", ")}})`);
  const rels = schema.rels.map(
    (r) =>
      `(:${r.from})-[:${r.type}${r.props?.length ? ` {${r.props.map((p) => `${p.key}: ${type(p.type)}`).join(", ")}}` : ""}]->(:${r.to})`,
  );
  return `Nodes: ${nodes.join(", ")}\nRelationships: ${rels.join(", ")}`;
}
