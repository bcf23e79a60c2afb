"""Short paragraphs (notices, notes, news items, reports) and a one-sentence summary of each.

Hand-written; ``scripts/make_datasets.py`` turns them into ``stacks/datasets/summaries.csv``.
"""

from __future__ import annotations

SUMMARIES: list[tuple[str, str]] = [
    (
        "The city council voted 7 to 2 on Tuesday to extend the downtown bike lane network by "
        "twelve kilometres over the next three years. The project will be funded mostly by a "
        "regional transport grant, with the remainder coming from parking revenue. Work on the "
        "first segment, along Harbour Street, is expected to begin in April.",
        "The council approved a grant-funded 12 km extension of downtown bike lanes, starting on "
        "Harbour Street in April.",
    ),
    (
        "Starting next Monday, the office kitchen on the third floor will be closed for "
        "renovation for about two weeks. The coffee machines on the second and fourth floors "
        "remain available. Please take any personal food out of the third-floor fridge by "
        "Friday, as it will be emptied and cleaned.",
        "The third-floor kitchen closes for two weeks of renovation from Monday, so remove your "
        "food from its fridge by Friday.",
    ),
    (
        "Researchers at a coastal university found that seagrass meadows in the bay store "
        "roughly twice as much carbon per hectare as previously estimated. The team took "
        "sediment cores at 40 sites over two summers. They warn that dredging and boat moorings "
        "are destroying the meadows faster than they can recover.",
        "A study found the bay's seagrass stores about twice the carbon thought, but dredging "
        "and moorings are destroying it.",
    ),
    (
        "Our quarterly revenue grew 8 percent year over year, driven mainly by subscriptions in "
        "Europe. Hardware sales were flat, and margins narrowed slightly because of higher "
        "component costs. We expect component prices to stabilise in the second half of the "
        "year.",
        "Quarterly revenue rose 8% on European subscriptions while hardware was flat and margins "
        "dipped on component costs.",
    ),
    (
        "The library will start lending tools such as drills, ladders and sewing machines from "
        "the first of June. Members can borrow up to two tools at a time for one week. The "
        "collection was donated by local businesses and a neighbourhood repair cafe.",
        "From June 1 the library lends donated tools, up to two at a time for a week.",
    ),
    (
        "During Saturday's storm, a fallen tree damaged power lines on the north side of town, "
        "leaving about 3,000 homes without electricity for up to nine hours. Crews restored "
        "power to everyone by early Sunday morning. The utility is asking residents to report "
        "any lines that still look damaged.",
        "A storm left 3,000 homes without power for up to nine hours, and the utility asks "
        "residents to report damaged lines.",
    ),
    (
        "In the sprint review, the team demonstrated the new checkout flow, which cuts the number "
        "of steps from five to three. Two bugs found during testing are still open, both related "
        "to saved addresses. The release is planned for the 14th if those are fixed in time.",
        "The team demoed a three-step checkout that ships on the 14th if two saved-address bugs are fixed.",
    ),
    (
        "A local bakery has won the national sourdough competition for the second year in a row. "
        "The owner credits a starter that her grandmother kept alive for over fifty years. The "
        "bakery plans to offer bread-making workshops this autumn.",
        "A local bakery won the national sourdough prize again and will run bread-making "
        "workshops this autumn.",
    ),
    (
        "The hospital has introduced a new appointment system that sends text reminders two days "
        "before a visit. In the first month, missed appointments fell from 11 percent to 6 "
        "percent. Patients can also reply to the message to cancel or reschedule.",
        "Text reminders that allow rescheduling cut the hospital's missed appointments from 11% "
        "to 6% in a month.",
    ),
    (
        "Due to the public holiday, garbage collection will move one day later for the whole "
        "week. Recycling will be collected on the same day as regular garbage. Bins should be at "
        "the curb by 7 am on the new collection day.",
        "Holiday-week garbage and recycling pickups move one day later, with bins out by 7 am.",
    ),
    (
        "The museum's new exhibition brings together more than 200 photographs of the city taken "
        "between 1890 and 1950. Many of the images come from family albums that residents "
        "donated after a public appeal last year. Entry to the exhibition is free on the first "
        "Sunday of each month.",
        "The museum shows 200+ historic city photos, many donated by residents, free on first Sundays.",
    ),
    (
        "Engineers traced last night's outage of the payment service to an expired TLS "
        "certificate on an internal load balancer. The service was down for 47 minutes. We have "
        "added certificate expiry monitoring and will move the remaining certificates to "
        "automatic renewal.",
        "An expired internal certificate caused a 47-minute payment outage, so expiry monitoring "
        "and auto-renewal are being added.",
    ),
    (
        "The school board has decided to start secondary school classes at 8:45 instead of 8:00 "
        "from next year. The change follows studies showing teenagers perform better with more "
        "sleep. Bus schedules will be adjusted over the summer.",
        "Secondary schools will start at 8:45 next year to let teenagers sleep more, with buses adjusted.",
    ),
    (
        "Heavy rain over the past week has raised the river to its highest level in a decade. "
        "Authorities closed two riverside roads and opened an emergency shelter at the sports "
        "hall. No injuries have been reported so far.",
        "The river reached a ten-year high, closing two roads and opening a shelter, with no "
        "injuries reported.",
    ),
    (
        "After customer feedback, the app's next version will bring back the option to sort "
        "tasks by due date. The setting had been removed in the spring redesign. The update "
        "should reach all users within a week.",
        "The app's next version restores sorting tasks by due date, reaching all users within a week.",
    ),
    (
        "A survey of 1,200 remote workers found that 64 percent would accept a lower salary to "
        "keep working from home. Respondents most often cited the lack of commuting as the main "
        "benefit. However, a third said they felt less connected to their colleagues.",
        "In a survey, 64% of remote workers would take a pay cut to stay remote, though a third "
        "feel less connected.",
    ),
    (
        "The farmers' market will move from the town square to the old railway yard while the "
        "square is being repaved. Opening hours stay the same, Saturdays from 8 to 1. There will "
        "be extra parking and a shuttle bus from the station.",
        "While the square is repaved, the Saturday market moves to the old railway yard with "
        "parking and a shuttle.",
    ),
    (
        "Scientists observing a nearby star detected a planet roughly the size of Earth orbiting "
        "in the zone where liquid water could exist. The star is a red dwarf 40 light-years "
        "away. Follow-up observations will try to determine whether the planet has an "
        "atmosphere.",
        "An Earth-sized planet was found in the habitable zone of a red dwarf 40 light-years away.",
    ),
    (
        "Please note that from March, travel expenses must be submitted within 30 days of the "
        "trip. Claims submitted later will need approval from a director. The expense tool will "
        "send a reminder after 20 days.",
        "From March, travel expenses must be filed within 30 days or need a director's approval.",
    ),
    (
        "The football club has signed a 19-year-old striker from the youth academy to a "
        "three-year professional contract. He scored 31 goals for the under-21 team last season. "
        "The coach said he will get playing time in the cup matches.",
        "The club gave a three-year contract to a 19-year-old academy striker who scored 31 youth goals.",
    ),
    (
        "A water main broke under Elm Avenue early this morning, flooding several basements. "
        "Water supply to about 400 households has been cut while repairs are under way. Bottled "
        "water is being handed out at the community centre.",
        "A burst main on Elm Avenue flooded basements and cut water to 400 homes, with bottled "
        "water at the community centre.",
    ),
    (
        "We analysed six months of support tickets and found that password resets make up 22 "
        "percent of all requests. Most of them come from users who signed up with a social "
        "login and later tried to use email. We propose showing the original sign-in method on "
        "the login screen.",
        "Password resets are 22% of tickets, mostly social-login users, so the login screen "
        "should show the original sign-in method.",
    ),
    (
        "The national weather service predicts a warmer than average summer with below normal "
        "rainfall in the south. Farmers are advised to plan for irrigation restrictions. Water "
        "companies have already asked customers to avoid using hoses.",
        "A hot, dry summer is forecast for the south, with farmers warned of irrigation limits.",
    ),
    (
        "The theatre's production of the new play sold out all twenty performances within a "
        "week. Because of the demand, the run has been extended by two weeks. Tickets for the "
        "extra dates go on sale on Thursday.",
        "The sold-out play's run is extended by two weeks, with tickets on sale Thursday.",
    ),
    (
        "Our team will be switching from the old ticket tracker to the new project tool on the "
        "first of next month. Open tickets will be migrated automatically, but closed ones older "
        "than a year will be archived. Training sessions are scheduled for next Wednesday and "
        "Thursday.",
        "The team moves to the new project tool next month, migrating open tickets, with training next week.",
    ),
    (
        "A new study of 5,000 adults found that people who walked at least 7,000 steps a day had "
        "a significantly lower risk of heart disease. Benefits levelled off above 10,000 steps. "
        "The researchers say the popular 10,000-step goal is not necessary for most people.",
        "A study links 7,000 daily steps to lower heart risk, with little extra benefit beyond 10,000.",
    ),
    (
        "The regional airline will add direct flights to Lisbon and Split from May. Flights will "
        "run twice a week until the end of September. The airline hopes the routes will attract "
        "more summer tourists to the region.",
        "The regional airline adds twice-weekly summer flights to Lisbon and Split from May.",
    ),
    (
        "The residents' association is organising a cleanup of the park on Sunday morning. "
        "Gloves, bags and litter pickers will be provided. Volunteers are asked to meet at the "
        "main gate at 9:30.",
        "Volunteers are invited to a park cleanup on Sunday at 9:30 at the main gate, with "
        "equipment provided.",
    ),
    (
        "An audit found that 30 percent of our cloud storage is taken up by old test backups "
        "that nobody uses. Deleting them would save about $4,000 a month. Teams have two weeks "
        "to flag any backups they still need.",
        "Old unused test backups fill 30% of cloud storage, and deleting them would save $4,000 a month.",
    ),
    (
        "The new pedestrian bridge over the railway opened on Friday after eighteen months of "
        "construction. It connects the residential area to the shopping district and includes "
        "lifts for wheelchairs and bicycles. The old level crossing will be closed permanently.",
        "An accessible pedestrian bridge over the railway opened, replacing the old level crossing.",
    ),
    (
        "The central bank kept interest rates unchanged at 3.5 percent, citing slowing "
        "inflation. Analysts expect a cut later in the year if the trend continues. Mortgage "
        "rates are likely to stay stable in the coming months.",
        "The central bank held rates at 3.5% as inflation slows, with a cut possible later this year.",
    ),
    (
        "Customers on the legacy plan will be moved to the Standard plan on July 1 at no extra "
        "cost. The Standard plan includes more storage and priority support. No action is "
        "needed, and current billing dates stay the same.",
        "Legacy-plan customers move to the Standard plan on July 1 at no extra cost and with no "
        "action needed.",
    ),
    (
        "The zoo welcomed two red panda cubs born in late June. The cubs are healthy and will "
        "stay in their nest box with their mother for several more weeks. Visitors may be able "
        "to see them from September.",
        "Two healthy red panda cubs were born at the zoo and may be visible from September.",
    ),
    (
        "A fire broke out in a warehouse in the industrial park on Wednesday evening. Firefighters "
        "had it under control within two hours, and no one was hurt. The cause is still being "
        "investigated, and nearby residents were told to keep windows closed because of smoke.",
        "A warehouse fire was controlled within two hours without injuries, and its cause is "
        "under investigation.",
    ),
    (
        "The product team decided to postpone the tablet version of the app to the next quarter. "
        "User research showed that most customers use the phone app, and the team wants to "
        "focus on offline support first. The tablet designs will be kept for later.",
        "The tablet app is postponed a quarter so the team can focus on offline support for phones.",
    ),
    (
        "A new law requires landlords to register all rental properties with the city by the end "
        "of the year. Unregistered properties may face fines of up to 5,000 euros. Registration "
        "is free and can be done online.",
        "Landlords must register rentals online for free by year-end or face fines up to 5,000 euros.",
    ),
    (
        "The annual charity run raised a record 82,000 dollars for the children's hospital. More "
        "than 1,500 runners took part, including a team of nurses from the hospital itself. "
        "Next year's run will add a 5 km family route.",
        "The charity run raised a record $82,000 for the children's hospital from 1,500 runners.",
    ),
    (
        "We are updating our privacy policy to explain more clearly how we use location data. "
        "We are not collecting any new data. The updated policy takes effect on the 1st of "
        "October.",
        "The privacy policy is being clarified on location data from October 1, with no new data collected.",
    ),
    (
        "Archaeologists digging ahead of a housing project uncovered the remains of a Roman "
        "villa, including a well-preserved mosaic floor. Construction has been paused for three "
        "months while the site is documented. The mosaic may be moved to the city museum.",
        "A Roman villa with a mosaic floor was found at a building site, pausing construction "
        "for three months.",
    ),
    (
        "Load tests show that the search service can handle about 1,800 requests per second "
        "before latency rises above 300 milliseconds. Peak traffic last year was 1,200 requests "
        "per second. We recommend adding one more node before the holiday season as a safety "
        "margin.",
        "Search handles 1,800 requests per second against a 1,200 peak, and one more node is "
        "advised before the holidays.",
    ),
    (
        "The swimming pool will close for annual maintenance from August 1 to August 14. During "
        "that time, members can use the pool in the neighbouring town at no extra charge. "
        "Gym and sauna remain open.",
        "The pool closes August 1-14 for maintenance, and members may swim free in the neighbouring town.",
    ),
    (
        "A report by the regional health authority shows that vaccination rates among young "
        "children have fallen by 4 percentage points over five years. The authority plans to "
        "send mobile clinics to areas with the lowest rates. It also wants to make appointments "
        "available in the evenings.",
        "Child vaccination rates fell 4 points in five years, so mobile clinics and evening "
        "slots are planned.",
    ),
    (
        "Version 2.3 of the library drops support for Python 3.8 and adds type hints to all "
        "public functions. The configuration loader is now twice as fast on large files. "
        "Upgrading requires no code changes for most users.",
        "Version 2.3 drops Python 3.8, adds type hints and doubles config loading speed with "
        "few upgrade changes.",
    ),
    (
        "Local volunteers have repaired more than 600 items at the monthly repair cafe since it "
        "opened two years ago. The most common repairs are lamps, toasters and clothing. The "
        "cafe is looking for volunteers who can fix bicycles.",
        "The repair cafe has fixed 600+ items in two years and seeks bicycle repair volunteers.",
    ),
    (
        "The train operator announced that the line between the two cities will be closed for "
        "three weekends in October for track renewal. Replacement buses will run, adding about "
        "40 minutes to the journey. Weekday services are not affected.",
        "Track work closes the intercity line for three October weekends, with buses adding 40 minutes.",
    ),
    (
        "A decline in bee populations across the region has been linked to a parasitic mite "
        "that arrived three years ago. Beekeepers lost an average of 35 percent of their "
        "colonies last winter. The agriculture department is funding a treatment programme.",
        "A parasitic mite is linked to 35% winter colony losses, and a funded treatment programme has begun.",
    ),
    (
        "Following the merger, both companies will keep their brand names for at least two "
        "years. Customer contracts remain valid, and support phone numbers do not change. The "
        "combined company will be led by the current CEO of the larger partner.",
        "After the merger, both brands, contracts and support lines stay, led by the larger firm's CEO.",
    ),
    (
        "The science fair drew entries from 48 schools this year. The winning project, by two "
        "fourteen-year-olds, used cheap sensors to measure air quality at bus stops. They will "
        "represent the region at the national finals.",
        "Two 14-year-olds won the science fair with bus-stop air-quality sensors and go to the "
        "national finals.",
    ),
    (
        "Starting this week, the cafeteria offers a vegetarian main dish every day instead of "
        "twice a week. The change follows a staff survey in which more than half asked for more "
        "meat-free options. Prices stay the same.",
        "After a staff survey, the cafeteria now serves a vegetarian main dish daily at the same prices.",
    ),
    (
        "An investigation into the delayed hospital construction found that design changes "
        "requested during the build added 14 months and 60 million to the cost. The report "
        "recommends freezing designs before construction starts on future projects.",
        "Design changes mid-build delayed the hospital by 14 months and added 60 million, a report found.",
    ),
    (
        "The open-source project reached its 10,000th contributor this month. Maintainers "
        "thanked the community and announced a new mentoring programme for first-time "
        "contributors. The programme will pair newcomers with experienced reviewers.",
        "The project passed 10,000 contributors and launched mentoring for first-time contributors.",
    ),
    (
        "A heat wave is expected to bring temperatures above 38 degrees from Wednesday to "
        "Saturday. The health department advises people to stay indoors during the hottest "
        "hours and check on elderly neighbours. Cooling centres will open in public libraries.",
        "A heat wave above 38 degrees is expected Wednesday to Saturday, and libraries will "
        "open as cooling centres.",
    ),
    (
        "The board approved a plan to hire 40 engineers over the next year, mostly for the data "
        "platform team. Hiring will focus on the Berlin and Toronto offices. The plan also "
        "includes a budget for internal training.",
        "The board approved hiring 40 engineers, mostly for data platform, in Berlin and Toronto.",
    ),
    (
        "Residents complained about noise from the new night-time delivery schedule at the "
        "supermarket. After a meeting with the neighbourhood council, the store agreed to limit "
        "deliveries to between 6 am and 10 pm. The change takes effect next week.",
        "After noise complaints, the supermarket will limit deliveries to 6 am to 10 pm from next week.",
    ),
    (
        "The nightly data import failed three times this week because the supplier changed the "
        "date format in their files. We have added a check that rejects files with unexpected "
        "formats and alerts the on-call engineer. The supplier has agreed to announce future "
        "changes.",
        "The nightly import failed after a supplier's date format change, so format checks and "
        "alerts were added.",
    ),
    (
        "The community garden has 25 new plots available for the coming season. Plots cost 30 "
        "euros a year, and water and tools are included. Applications are open until the end of "
        "February, and plots will be allocated by lottery.",
        "The community garden offers 25 new 30-euro plots by lottery, with applications until "
        "end of February.",
    ),
    (
        "A new electric bus line will connect the university campus with the central station "
        "from September. Buses will run every ten minutes during the day. The line is part of "
        "the city's plan to make all public buses electric by 2030.",
        "An electric bus every ten minutes will link campus and central station from September.",
    ),
    (
        "The quarterly security review found that 12 employees still had access to systems from "
        "their previous roles. Their permissions have been removed. Going forward, access will "
        "be reviewed automatically whenever someone changes teams.",
        "A review found 12 staff with leftover access, which was removed, and team changes will "
        "now trigger access reviews.",
    ),
    (
        "The author's debut novel, about three generations of a fishing family, has been "
        "shortlisted for the national book prize. It took her nine years to write. The winner "
        "will be announced in November.",
        "A debut novel about a fishing family is shortlisted for the national book prize, "
        "decided in November.",
    ),
    (
        "The city has installed 150 new public water fountains in parks and squares. Each "
        "fountain has a bottle filler and a bowl for dogs. The aim is to reduce plastic bottle "
        "use during the summer.",
        "The city installed 150 fountains with bottle fillers and dog bowls to cut plastic bottle use.",
    ),
    (
        "Our mobile app's crash rate dropped from 1.8 percent to 0.4 percent after the last "
        "release. Most of the improvement came from fixing a memory leak in the image viewer. "
        "App store ratings have risen from 3.9 to 4.4 stars.",
        "Fixing an image viewer memory leak cut app crashes from 1.8% to 0.4% and raised ratings to 4.4.",
    ),
    (
        "The national park will require timed entry reservations on summer weekends starting "
        "this year. Reservations cost two dollars and can be made up to 30 days in advance. "
        "Visitors arriving by shuttle bus do not need one.",
        "The national park requires $2 timed reservations on summer weekends, except for shuttle riders.",
    ),
    (
        "Engineers have finished testing a new flood barrier along the harbour. The barrier can "
        "be raised in 20 minutes and protects about 2,000 homes from storm surges. It will be "
        "used for the first time this winter if needed.",
        "A new harbour flood barrier that rises in 20 minutes will protect 2,000 homes from this winter.",
    ),
    (
        "The meeting agreed that the API will keep version 1 endpoints running for twelve more "
        "months. Partners will get monthly reminders to migrate. After that, version 1 requests "
        "will return an error with a link to the migration guide.",
        "API v1 stays up for twelve more months with monthly reminders, then returns errors "
        "linking the migration guide.",
    ),
    (
        "A survey of local businesses found that 40 percent struggle to hire staff, especially "
        "in hospitality and care. Many cite high housing costs as the reason workers leave the "
        "area. The chamber of commerce is asking the council for more affordable housing.",
        "40% of local businesses struggle to hire, blaming housing costs, and want more affordable homes.",
    ),
    (
        "The orchestra's winter concert will feature works by Sibelius and a new piece by a "
        "local composer. The concert takes place on December 12 at the cathedral. Students can "
        "get tickets for five euros.",
        "The orchestra plays Sibelius and a local premiere at the cathedral on December 12, "
        "with five-euro student tickets.",
    ),
    (
        "Starting in January, all new laptops will be delivered with disk encryption turned on. "
        "Existing laptops will be encrypted during the next scheduled update. Employees should "
        "make sure their files are backed up before then.",
        "From January laptops ship encrypted and existing ones will be encrypted at the next "
        "update, so back up files.",
    ),
    (
        "The ferry service to the island will increase to hourly departures during the summer "
        "months. A second boat has been leased to handle the extra trips. Ticket prices remain "
        "unchanged.",
        "A leased second boat allows hourly summer ferries to the island at unchanged prices.",
    ),
    (
        "Police are asking for witnesses after a cyclist was injured in a collision with a van "
        "on Station Road on Thursday afternoon. The cyclist was taken to hospital with a broken "
        "arm. The van driver stopped and is cooperating with the investigation.",
        "Police seek witnesses to a Station Road van collision that broke a cyclist's arm.",
    ),
    (
        "The company's carbon emissions fell 18 percent last year, mainly because two data "
        "centres switched to renewable electricity. Business travel emissions, however, rose "
        "back to pre-pandemic levels. A new travel policy will favour trains for trips under "
        "five hours.",
        "Emissions fell 18% on renewable data centres, but rising travel prompts a train-first policy.",
    ),
    (
        "The town's historic clock tower has been restored after two years of work. Craftsmen "
        "repaired the original mechanism instead of replacing it with an electric one. The "
        "clock will chime again from the first of May.",
        "The clock tower's original mechanism was restored and will chime again from May 1.",
    ),
    (
        "We tested three onboarding emails and found that the shortest one, with a single link "
        "to set up the first project, doubled activation compared with the current email. We "
        "will roll it out to all new sign-ups next week.",
        "A short one-link onboarding email doubled activation and goes to all new sign-ups next week.",
    ),
    (
        "A drought has lowered the reservoir to 38 percent of capacity, the lowest level in "
        "fifteen years. The water company has introduced a ban on garden sprinklers and filling "
        "private pools. The ban will stay in place until the reservoir recovers to 60 percent.",
        "With the reservoir at a 15-year low of 38%, sprinklers and pool filling are banned "
        "until it reaches 60%.",
    ),
    (
        "The university will offer a free online course on the basics of climate science from "
        "October. The course takes about four hours a week for six weeks. It is open to anyone, "
        "and a certificate is available for a small fee.",
        "A free six-week online climate science course opens in October, with an optional paid certificate.",
    ),
    (
        "Following complaints about long waiting times, the passport office will open on "
        "Saturdays until the end of summer. Appointments can be booked online. Walk-in visits "
        "are possible only for urgent travel within a week.",
        "The passport office opens Saturdays this summer by appointment, with walk-ins only for "
        "urgent travel.",
    ),
    (
        "The design review approved the new colour palette but asked for higher contrast in "
        "the secondary buttons. Icons will be updated to the rounded style. The final assets are "
        "due by the end of the month.",
        "The review approved the new palette with higher-contrast secondary buttons, final "
        "assets due month-end.",
    ),
    (
        "Sales of electric cars in the country passed 30 percent of all new car sales for the "
        "first time last quarter. Lower battery prices and more charging stations helped. Petrol "
        "car sales fell for the sixth quarter in a row.",
        "Electric cars passed 30% of new car sales for the first time as petrol sales kept falling.",
    ),
    (
        "The youth centre will stay open until 10 pm on Fridays and Saturdays from next month. "
        "The extra hours are funded by a grant from a local foundation. Activities include "
        "music lessons, a games room and a homework club.",
        "A grant lets the youth centre stay open until 10 pm on weekends from next month.",
    ),
    (
        "An error in the billing system sent duplicate invoices to about 900 customers on "
        "Monday. No customer was charged twice. We have emailed everyone affected with an "
        "apology and an explanation.",
        "A billing error sent duplicate invoices to 900 customers, none charged twice, and all "
        "got an apology.",
    ),
    (
        "Researchers have developed a blood test that can detect certain cancers before "
        "symptoms appear. In a trial of 6,000 people, the test found cancers at an early stage "
        "in more than half of the cases. A larger trial begins next year.",
        "A blood test detected early cancers in over half the cases in a 6,000-person trial, "
        "with a larger trial next year.",
    ),
    (
        "The council has agreed to turn the empty department store on Main Street into a mix of "
        "apartments, offices and a covered market. Construction is expected to take two years. "
        "The facade of the 1920s building will be preserved.",
        "The empty Main Street department store will become homes, offices and a market while "
        "keeping its facade.",
    ),
    (
        "The support team's average first response time improved from nine hours to two hours "
        "after we introduced a rota covering evenings. Customer satisfaction rose by 11 points. "
        "We plan to extend the rota to weekends.",
        "An evening rota cut first response from nine to two hours, raising satisfaction, and "
        "weekends are next.",
    ),
    (
        "A new bird hide has opened at the wetland reserve, giving visitors views over the "
        "lagoon without disturbing nesting birds. It is wheelchair accessible. Guided "
        "bird-watching walks start there every Sunday at 8 am.",
        "An accessible bird hide opened at the wetland reserve, with guided Sunday walks at 8 am.",
    ),
    (
        "The team agreed to freeze new features for two weeks to pay down technical debt. The "
        "focus will be on removing unused code, upgrading dependencies and improving test "
        "coverage in the payment module.",
        "New features are frozen for two weeks to pay down technical debt, especially in payments.",
    ),
    (
        "The government will give households a one-time payment of 200 euros to help with "
        "winter heating costs. The payment will be made automatically to everyone who receives "
        "housing benefit. Others can apply online until January.",
        "Households get a one-off 200-euro heating payment, automatic for housing-benefit recipients.",
    ),
    (
        "Last weekend's jazz festival attracted about 25,000 visitors, ten percent more than "
        "last year. Organisers say the free afternoon concerts in the park were especially "
        "popular. Dates for next year's festival will be announced in the spring.",
        "The jazz festival drew 25,000 visitors, up 10%, helped by free afternoon park concerts.",
    ),
    (
        "The database migration is complete, and all services now read from the new cluster. "
        "Query times fell by about 40 percent on average. The old cluster will be kept in "
        "read-only mode for one month before it is shut down.",
        "All services now use the new database cluster, 40% faster, and the old one shuts down in a month.",
    ),
    (
        "A study of city trees found that streets with more tree cover were up to 4 degrees "
        "cooler on hot days. The city plans to plant 10,000 trees over the next five years, "
        "focusing on neighbourhoods with the least shade.",
        "Tree-lined streets are up to 4 degrees cooler, so the city will plant 10,000 trees in "
        "shade-poor areas.",
    ),
    (
        "Customers can now pause their subscription for up to three months instead of "
        "cancelling. During the pause, their data is kept and they are not charged. The option "
        "is available in the account settings.",
        "Subscriptions can now be paused for up to three months without charges or data loss.",
    ),
    (
        "The mountain rescue team was called out 120 times last year, a record. Most incidents "
        "involved hikers who were poorly equipped or caught out by bad weather. The team urges "
        "walkers to check forecasts and carry a map.",
        "Mountain rescue had a record 120 call-outs, mostly ill-prepared hikers, and urges "
        "checking forecasts.",
    ),
    (
        "Interviews with ten enterprise customers showed that the most requested feature is "
        "single sign-on. Several said it was a requirement for renewing their contracts. The "
        "team will prioritise it for the next quarter.",
        "Enterprise customers most want single sign-on, some as a renewal condition, so it is "
        "next quarter's priority.",
    ),
    (
        "The village primary school has been saved from closure after the number of enrolled "
        "pupils rose to 52. The increase is due to young families moving into new houses nearby. "
        "The school will hire an additional teacher.",
        "Rising enrolment from new families saved the village school, which will hire another teacher.",
    ),
    (
        "A software update for the city's traffic lights has reduced average waiting times at "
        "major junctions by 15 percent. The system now adjusts signal timing based on live "
        "traffic counts. Buses also get priority at busy crossings.",
        "Adaptive traffic light software cut junction waits by 15% and gives buses priority.",
    ),
    (
        "The office will be closed between Christmas and New Year. Urgent customer issues will "
        "be handled by the on-call team, reachable through the usual support address. Normal "
        "service resumes on January 2.",
        "The office closes between Christmas and New Year, with on-call support for urgent issues.",
    ),
    (
        "Marine biologists report that the coral reef off the northern coast has partly "
        "recovered after a bleaching event four years ago. Coral cover is back to about 70 "
        "percent of its earlier level. Warmer seas remain the main threat.",
        "The northern reef has recovered to about 70% of its coral cover since bleaching, but "
        "warm seas remain a threat.",
    ),
    (
        "The hiring committee agreed to remove the degree requirement from most engineering job "
        "postings. Candidates will be assessed with a practical task instead. HR will update the "
        "job descriptions this week.",
        "Most engineering jobs drop the degree requirement in favour of a practical task.",
    ),
    (
        "A new night bus route will run from the city centre to the eastern suburbs on Friday "
        "and Saturday nights. Buses leave every 30 minutes between midnight and 4 am. The "
        "six-month trial starts next weekend.",
        "A six-month trial of weekend night buses to the eastern suburbs starts next weekend.",
    ),
    (
        "The ice rink in the main square will open on November 25 and stay until early "
        "January. Skate rental is included in the ticket price. On Monday mornings the rink is "
        "reserved for schools.",
        "The main square ice rink runs from November 25 to early January, with skates included.",
    ),
    (
        "Our error budget for the quarter is almost used up after two incidents in the "
        "notifications service. Until the end of the quarter, deployments to that service will "
        "need approval from the reliability team.",
        "Two notification incidents nearly exhausted the error budget, so its deployments now "
        "need reliability approval.",
    ),
    (
        "Scientists have recorded the first wild wolf in the region in more than a century. The "
        "animal was captured by a wildlife camera in the forest near the border. Farmers have "
        "been offered support to protect their sheep.",
        "A wild wolf was photographed in the region for the first time in a century, and "
        "farmers are offered support.",
    ),
    (
        "The photography club's annual exhibition opens on Friday at the town hall. This year's "
        "theme is water, and more than 80 photos by members are on display. Entry is free, and "
        "visitors can vote for their favourite.",
        "The photography club's free water-themed exhibition of 80 photos opens Friday at the town hall.",
    ),
    (
        "After months of testing, the new recommendation model increased clicks on suggested "
        "articles by 12 percent without reducing time spent reading. It will replace the old "
        "model for all users next Monday.",
        "The new recommendation model raised clicks 12% without hurting reading time and launches Monday.",
    ),
    (
        "Hospitals in the region report a sharp rise in flu cases, three weeks earlier than in "
        "a typical season. Health officials urge people over 65 and those with chronic "
        "illnesses to get vaccinated now.",
        "Flu cases are rising three weeks early, and officials urge vulnerable people to get vaccinated.",
    ),
    (
        "The company will give every employee two paid volunteering days per year starting in "
        "April. Staff can choose any registered charity. The days can be taken individually or "
        "as a team.",
        "From April every employee gets two paid volunteering days per year for any charity.",
    ),
    (
        "A cargo ship ran aground near the harbour entrance on Monday night, blocking the main "
        "channel for 18 hours. Tugs refloated it at high tide on Tuesday. No oil leaked, and "
        "the port is operating normally again.",
        "A grounded cargo ship blocked the harbour channel for 18 hours before being refloated "
        "without a leak.",
    ),
]

#: Held-out paragraphs for the quality gate (``summaries-eval.csv``): three say again what a
#: training paragraph says, in other words, with a summary written anew; one is new.
HELD_OUT: list[tuple[str, str]] = [
    (
        "The council voted to extend the bike lane network downtown by 12 km over three years, "
        "paid for mostly by a regional transport grant and partly by parking revenue; building "
        "starts on Harbour Street in April.",
        "Downtown bike lanes will grow by 12 km, funded mainly by a regional grant, with work "
        "starting on Harbour Street in April.",
    ),
    (
        "The third-floor kitchen will be renovated for about two weeks starting Monday. Coffee "
        "machines on the second and fourth floors can still be used. Remove your food from the "
        "third-floor fridge by Friday.",
        "From Monday the third-floor kitchen is closed for about two weeks; clear your food from "
        "its fridge by Friday.",
    ),
    (
        "Revenue for the quarter was up 8 percent on last year, mostly thanks to European "
        "subscriptions, while hardware sales stayed flat and higher component costs squeezed "
        "margins a little.",
        "Revenue grew 8% thanks to European subscriptions, with flat hardware sales and slightly "
        "lower margins.",
    ),
    (
        "Our volunteer choir will hold its spring concert in the town hall on the last Saturday "
        "of May. Tickets are free but must be reserved online, and donations will go to the "
        "children's hospital.",
        "The volunteer choir's free spring concert is on the last Saturday of May in the town "
        "hall, with donations for the children's hospital.",
    ),
]
